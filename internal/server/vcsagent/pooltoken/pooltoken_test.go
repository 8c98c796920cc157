package pooltoken_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// issue stores a fresh token of pool and returns it with its row.
func issue(t *testing.T, s store.Store, poolID string, expires time.Time) (string, store.VCSAgentPoolToken) {
	t.Helper()
	token, row, err := pooltoken.New(poolID)
	if err != nil {
		t.Fatal(err)
	}
	row.ExpiresAt = expires
	row, err = s.CreateVCSAgentPoolToken(t.Context(), row)
	if err != nil {
		t.Fatal(err)
	}
	return token, row
}

func TestVCSAgentPoolTokenAuthenticate(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	pool, err := s.CreateVCSAgentPool(ctx, store.VCSAgentPool{Name: "dc-east", SpaceID: store.RootSpaceID})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	auth := pooltoken.NewAuthenticator(s, func() time.Time { return now })
	token, row := issue(t, s, pool.ID, time.Time{})
	if len(row.SecretHash) != 32 || strings.Contains(token, string(row.SecretHash)) {
		t.Fatalf("stored hash %x", row.SecretHash)
	}
	got, err := auth.AuthenticateAgent(ctx, token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if got != (pooltoken.PoolIdentity{PoolID: pool.ID, PoolName: "dc-east", SpaceID: store.RootSpaceID}) {
		t.Fatalf("identity %+v", got)
	}

	// The same id with another secret, a malformed token, an unknown one.
	other, _, _ := pooltoken.New(pool.ID)
	forged := token[:strings.LastIndexByte(token, '_')] + other[strings.LastIndexByte(other, '_'):]
	for name, bad := range map[string]string{
		"wrong secret": forged, "unknown id": other, "empty": "", "truncated": token[:len(token)-1],
		"api key": "orbit_k_abc_" + strings.Repeat("A", 43), "trailing space": token + " ",
	} {
		_, err := auth.AuthenticateAgent(ctx, bad)
		if !errors.Is(err, pooltoken.ErrBadAgentToken) {
			t.Errorf("%s: got %v, want ErrBadAgentToken", name, err)
		}
		if err != nil && bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("%s: the error quotes the token", name)
		}
	}

	// Rotation: the previous token works until the end of its grace, not after.
	until := now.Add(time.Minute)
	next, row2, err := pooltoken.New(pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateVCSAgentPoolToken(ctx, row.ID, row2, until); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.AuthenticateAgent(ctx, token); err != nil {
		t.Fatalf("rotated token within its grace: %v", err)
	}
	if _, err := auth.AuthenticateAgent(ctx, next); err != nil {
		t.Fatalf("new token: %v", err)
	}
	now = until
	if _, err := auth.AuthenticateAgent(ctx, token); !errors.Is(err, pooltoken.ErrBadAgentToken) {
		t.Fatalf("rotated token after its grace: %v", err)
	}
	if _, err := auth.AuthenticateAgent(ctx, next); err != nil {
		t.Fatalf("new token after the grace: %v", err)
	}

	// Revoked: at once.
	if err := s.DeleteVCSAgentPoolToken(ctx, pool.ID, row2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.AuthenticateAgent(ctx, next); !errors.Is(err, pooltoken.ErrBadAgentToken) {
		t.Fatalf("revoked token: %v", err)
	}
}

// A store that cannot be read is not a bad token: the agent may retry.
func TestVCSAgentPoolTokenStoreFailureIsNotBadToken(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	pool, err := s.CreateVCSAgentPool(t.Context(), store.VCSAgentPool{Name: "p", SpaceID: store.RootSpaceID})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := issue(t, s, pool.ID, time.Time{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = pooltoken.NewAuthenticator(s, nil).AuthenticateAgent(ctx, token)
	if err == nil || errors.Is(err, pooltoken.ErrBadAgentToken) || strings.Contains(err.Error(), token) {
		t.Fatalf("canceled lookup: %v", err)
	}
}
