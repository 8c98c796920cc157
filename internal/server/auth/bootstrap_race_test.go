package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
)

// replica is one server's view for the bootstrap: its store and its log.
type replica struct {
	store  store.Store
	logger *slog.Logger
}

func (r *replica) bootstrap(ctx context.Context, key string, out io.Writer) error {
	return Bootstrap(ctx, r.store, r.logger, key, out)
}

// staleCount is a replica that counted the API keys before another replica
// installed the bootstrap key.
type staleCount struct{ store.Store }

func (staleCount) CountAPIKeys(context.Context) (int, error) { return 0, nil }

func openBootstrapStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// logMessages decodes a JSON log into its records.
func logMessages(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// Replicas started together with the same ORBIT_BOOTSTRAP_KEY: the one that loses
// the race finds the key installed and starts. A different key under the same id
// is not installed: that replica starts with the warning of a database that
// already has keys, and the installed key is unchanged.
func TestBootstrapRaceBetweenReplicas(t *testing.T) {
	t.Parallel()
	st := openBootstrapStore(t)
	key, id, hash, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	first := &replica{store: st, logger: slog.New(slog.DiscardHandler)}
	if err := first.bootstrap(t.Context(), key, io.Discard); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	late := &replica{store: staleCount{st}, logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := late.bootstrap(t.Context(), key, io.Discard); err != nil {
		t.Fatalf("second replica with the same key: %v", err)
	}
	other, _, _, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	otherSecret := other[len(other)-apiKeySecretLen:]
	forged := apiKeyPrefix + id + "_" + otherSecret
	if fid, _, err := ParseAPIKey(forged); err != nil || fid != id {
		t.Fatalf("forged key: id %q, %v", fid, err)
	}
	if err := late.bootstrap(t.Context(), forged, io.Discard); err != nil {
		t.Fatalf("second replica with a different key: %v", err)
	}
	installed, err := st.GetAPIKey(t.Context(), id)
	if err != nil || !bytes.Equal(installed.SecretHash, hash) {
		t.Fatalf("the installed key changed: %v", err)
	}
	if n, err := st.CountAPIKeys(t.Context()); err != nil || n != 1 {
		t.Fatalf("%d keys (%v), want 1", n, err)
	}
	recs := logMessages(t, logs.String())
	if len(recs) != 2 || recs[1]["level"] != "WARN" || recs[1]["key_installed"] != false {
		t.Fatalf("logs of the late replica:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), otherSecret) || strings.Contains(logs.String(), key) {
		t.Fatal("a key's secret reached the log")
	}
}

// Replicas started together on an empty database without ORBIT_BOOTSTRAP_KEY:
// the one that counted no key before another replica installed its generated
// key creates none and prints nothing, and says so in its log without a secret.
func TestBootstrapGeneratedKeyRace(t *testing.T) {
	t.Parallel()
	st := openBootstrapStore(t)
	var firstOut bytes.Buffer
	first := &replica{store: st, logger: slog.New(slog.DiscardHandler)}
	if err := first.bootstrap(t.Context(), "", &firstOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(firstOut.String(), "orbit_k_") {
		t.Fatalf("the first replica printed no key: %q", firstOut.String())
	}
	var lateOut, logs bytes.Buffer
	late := &replica{store: staleCount{st}, logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := late.bootstrap(t.Context(), "", &lateOut); err != nil {
		t.Fatalf("the late replica: %v", err)
	}
	n, err := st.CountAPIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if lateOut.Len() != 0 || n != 1 {
		t.Fatalf("the late replica printed %d bytes; the database holds %d admin keys, want 1", lateOut.Len(), n)
	}
	recs := logMessages(t, logs.String())
	if len(recs) != 1 || recs[0]["msg"] != msgBootstrapLost {
		t.Fatalf("logs of the late replica:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "orbit_k_") {
		t.Fatal("a key reached the log")
	}
}

// Several replicas of one process bootstrapping at the same moment on one empty
// database: exactly one prints a key, and it is the one stored.
func TestBootstrapConcurrentReplicas(t *testing.T) {
	t.Parallel()
	st := openBootstrapStore(t)
	const replicas = 6
	outs := make([]bytes.Buffer, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := &replica{store: st, logger: slog.New(slog.DiscardHandler)}
			errs[i] = s.bootstrap(t.Context(), "", &outs[i])
		}()
	}
	close(start)
	wg.Wait()
	var printed []string
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if outs[i].Len() > 0 {
			printed = append(printed, outs[i].String())
		}
	}
	keys, err := st.ListAPIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(printed) != 1 || len(keys) != 1 || !strings.Contains(printed[0], apiKeyPrefix+keys[0].ID+"_") {
		t.Fatalf("%d replicas printed a key; %d keys stored", len(printed), len(keys))
	}
}
