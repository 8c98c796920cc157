// Package pooltoken is what ties a VCS agent to its pool: the pool tokens (made
// here, stored hashed by the store) and the authentication the agent tunnel calls
// when an agent connects. It also holds the seam through which the tunnel tells
// the API which agents are connected (AgentDirectory).
//
// Token format: orbitpool_<token id>_<43 chars base64url (no padding) of 32 random
// bytes>. The store keeps the SHA-256 of the last part; the comparison is in
// constant time. No function of this package puts a token in an error.
package pooltoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const (
	tokenPrefix    = "orbitpool_"
	tokenSecretLen = 43
)

var tokenIDPattern = regexp.MustCompile(`^pt_[a-z0-9]{1,40}$`)

// ErrBadAgentToken is the answer to a token that is malformed, unknown, revoked
// or expired: the agent may not connect. Any other error of AuthenticateAgent is
// the server's (the store could not be read): the agent may retry.
var ErrBadAgentToken = errors.New("unknown, revoked or expired VCS agent pool token")

// PoolIdentity is the pool an authenticated agent serves.
type PoolIdentity struct {
	PoolID   string
	PoolName string
	SpaceID  string
}

// AgentAuthenticator checks the token an agent presents.
type AgentAuthenticator interface {
	AuthenticateAgent(ctx context.Context, token string) (PoolIdentity, error)
}

// AgentDirectory says which agents of a pool are connected now. The agent hub
// fills it; the API reads it for the pools' answers, and cuts off the agents of a
// token it revoked or a pool it deleted.
type AgentDirectory interface {
	ConnectedAgents(poolID string) []apiwire.ConnectedAgent
	// Disconnect ends the sessions on this replica of poolID's agents that
	// connected with token tokenID (all of the pool's when tokenID is "").
	// Other replicas notice when they check the tokens again.
	Disconnect(poolID, tokenID string)
}

// NoAgents is the AgentDirectory of a server without an agent hub: no pool has a
// connected agent.
type NoAgents struct{}

// ConnectedAgents implements AgentDirectory.
func (NoAgents) ConnectedAgents(string) []apiwire.ConnectedAgent { return nil }

// Disconnect implements AgentDirectory.
func (NoAgents) Disconnect(string, string) {}

// New returns a fresh token for pool poolID, and the row to store (ID, PoolID and
// SecretHash set). The token is shown once and never stored.
func New(poolID string) (token string, row store.VCSAgentPoolToken, err error) {
	var idRaw [10]byte
	if _, err := io.ReadFull(rand.Reader, idRaw[:]); err != nil {
		return "", row, err
	}
	id := "pt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(idRaw[:]))
	var raw [32]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return "", row, err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	return tokenPrefix + id + "_" + secret, store.VCSAgentPoolToken{ID: id, PoolID: poolID, SecretHash: hashSecret(secret)}, nil
}

// Parse splits a token into its id and secret part (ErrBadAgentToken when it is
// not one). It never quotes the token.
func Parse(token string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(rest) < tokenSecretLen+2 {
		return "", "", ErrBadAgentToken
	}
	secret = rest[len(rest)-tokenSecretLen:]
	id = rest[:len(rest)-tokenSecretLen-1]
	if rest[len(rest)-tokenSecretLen-1] != '_' || !tokenIDPattern.MatchString(id) {
		return "", "", ErrBadAgentToken
	}
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		return "", "", ErrBadAgentToken
	}
	return id, secret, nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Store is what the authenticator reads.
type Store interface {
	GetVCSAgentPoolToken(ctx context.Context, id string) (store.VCSAgentPoolToken, error)
	GetVCSAgentPool(ctx context.Context, id string) (store.VCSAgentPool, error)
}

// Authenticator is the AgentAuthenticator of a store.
type Authenticator struct {
	store Store
	now   func() time.Time
}

// NewAuthenticator authenticates against st; now is the clock that decides expiry
// (nil: time.Now).
func NewAuthenticator(st Store, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{store: st, now: now}
}

// AuthenticateAgent implements AgentAuthenticator. A revoked token's row is gone;
// a rotated one works until the end of its grace (ExpiresAt). Call it again on a
// long-lived connection to notice a revocation.
func (a *Authenticator) AuthenticateAgent(ctx context.Context, token string) (PoolIdentity, error) {
	id, secret, err := Parse(token)
	if err != nil {
		return PoolIdentity{}, err
	}
	row, err := a.store.GetVCSAgentPoolToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return PoolIdentity{}, ErrBadAgentToken
	}
	if err != nil {
		return PoolIdentity{}, fmt.Errorf("look up the pool token: %w", err)
	}
	if subtle.ConstantTimeCompare(row.SecretHash, hashSecret(secret)) != 1 {
		return PoolIdentity{}, ErrBadAgentToken
	}
	if !row.ExpiresAt.IsZero() && !a.now().Before(row.ExpiresAt) {
		return PoolIdentity{}, ErrBadAgentToken
	}
	pool, err := a.store.GetVCSAgentPool(ctx, row.PoolID)
	if errors.Is(err, store.ErrNotFound) {
		return PoolIdentity{}, ErrBadAgentToken
	}
	if err != nil {
		return PoolIdentity{}, fmt.Errorf("look up the token's pool: %w", err)
	}
	return PoolIdentity{PoolID: pool.ID, PoolName: pool.Name, SpaceID: pool.SpaceID}, nil
}
