package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
)

// staleCount is a replica that counted the API keys before another replica
// installed the bootstrap key.
type staleCount struct{ store.Store }

func (staleCount) CountAPIKeys(context.Context) (int, error) { return 0, nil }

// Replicas started together with the same ORBIT_BOOTSTRAP_KEY: the one that loses
// the race finds the key installed and starts; a different key under the same id
// is still refused.
func TestBootstrapRaceBetweenReplicas(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, id, _, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	first := &Server{store: st, logger: slog.New(slog.DiscardHandler)}
	if err := first.bootstrap(t.Context(), key, io.Discard); err != nil {
		t.Fatal(err)
	}
	late := &Server{store: staleCount{st}, logger: slog.New(slog.DiscardHandler)}
	if err := late.bootstrap(t.Context(), key, io.Discard); err != nil {
		t.Fatalf("second replica with the same key: %v", err)
	}
	other, _, _, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherID, _ := strings.Cut(other, "orbit_k_")
	_, otherSecret, _ := strings.Cut(otherID, "_")
	forged := "orbit_k_" + id + "_" + otherSecret
	if err := late.bootstrap(t.Context(), forged, io.Discard); err == nil {
		t.Fatal("a different key under an installed id was accepted")
	}
}
