package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// pausedQueue starts no queue worker, so that WrapStore replaces the store before
// any goroutine but the handlers' reads it.
var pausedQueue = servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true })

type readOnlyStore struct{ store.Store }

func (readOnlyStore) ProbeWrite(context.Context) error {
	return errors.New("attempt to write a readonly database")
}

// /readyz answers 503 when the database cannot write (read-only, disk full), which a
// ping does not show. Before, it stayed 200 while every write answered 500.
func TestReadyzProbesWrites(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	if resp := rawGet(t, inst.URL+"/readyz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz of a healthy server: %d", resp.StatusCode)
	}
	other := servertest.Start(t, pausedQueue)
	server.WrapStore(other.Server, func(s store.Store) store.Store { return readOnlyStore{s} })
	if resp := rawGet(t, other.URL+"/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a store that cannot write: %d, want 503", resp.StatusCode)
	}
}

// serve runs srv.Serve on a loopback listener until the returned cancel is called;
// done receives Serve's result.
func serve(t *testing.T, cfg func(*server.Config), logs io.Writer) (srv *server.Server, url, adminKey string, cancel func(), done chan error) {
	t.Helper()
	inst := servertest.Start(t)
	inst.Stop(t)
	c := server.Config{DB: inst.DBPath, PublicURL: "http://127.0.0.1", SecretKey: inst.SecretKey, BootstrapKey: inst.AdminKey,
		BootstrapOut: io.Discard, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	cfg(&c)
	srv, err := server.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return srv, "http://" + ln.Addr().String(), inst.AdminKey, stop, done
}

// On shutdown, /readyz answers 503 for the shutdown delay while the listener still
// serves; the listener closes after it. Before, the listener closed at once and
// /readyz never showed 503.
func TestShutdownDelayKeepsServingWithReadyz503(t *testing.T) {
	t.Parallel()
	srv, url, adminKey, cancel, done := serve(t, func(c *server.Config) { c.ShutdownDelay = time.Hour }, io.Discard)
	if resp := rawGet(t, url+"/readyz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d", resp.StatusCode)
	}
	cancel()
	// The drain starts asynchronously: wait for /readyz to turn.
	testwait.For(t, 30*time.Second, "/readyz to answer 503 after the shutdown signal", func() bool {
		return rawGet(t, url+"/readyz", "").StatusCode == http.StatusServiceUnavailable
	})
	if resp := rawGet(t, url+"/api/v1/spaces", adminKey); resp.StatusCode != http.StatusOK {
		t.Fatalf("an API request during the shutdown delay: %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned during the shutdown delay: %v", err)
	default:
	}
	server.EndShutdownDelay(srv)
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// A drain that times out returns nil (exit 0) and logs the requests it dropped.
func TestDrainTimeoutLogsDroppedRequests(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	srv, url, adminKey, cancel, done := serve(t, func(c *server.Config) {
		c.ShutdownDelay = -1
		c.DrainTimeout = 50 * time.Millisecond
	}, logs)
	api := &client{t: t, base: url, key: adminKey, mu: &sync.Mutex{}, bodies: &[]string{}}
	in := api.must(http.MethodPost, "/api/v1/integrations", cloudBody("slow", "root", "token-1"), http.StatusCreated)
	entered, release := make(chan struct{}), make(chan struct{})
	server.SetBeforeIntegrationUpdate(srv, func() {
		close(entered)
		<-release
	})
	defer close(release)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, url+"/api/v1/integrations/"+str(in, "id"), strings.NewReader(`{"space_id":"root","email":"dev@example.com"}`))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after a drain timeout: %v, want nil", err)
	}
	if !strings.Contains(logs.String(), "drain timed out") || !strings.Contains(logs.String(), "PUT /api/v1/integrations/{id}") {
		t.Fatalf("the dropped request is not logged:\n%s", logs.String())
	}
}

// racingMoveStore commits a competing move just before the move it is asked for,
// as a concurrent request would between the server's checks and its write.
type racingMoveStore struct {
	store.Store
	first func(ctx context.Context) error
}

func (s *racingMoveStore) UpdateSpace(ctx context.Context, sp store.Space) (store.Space, error) {
	if first := s.first; first != nil {
		s.first = nil
		if err := first(ctx); err != nil {
			return store.Space{}, err
		}
	}
	return s.Store.UpdateSpace(ctx, sp)
}

// Two moves that each pass the cycle check but together make a cycle: the one that
// commits second is refused with what API.md says for a move under a descendant, a
// 400 on parent_space_id (it was a 409 before).
func TestConcurrentSpaceMovesLoserGets400(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, pausedQueue)
	c := newClient(t, inst, inst.AdminKey)
	a := inst.NewSpace(t, "a", "root", false)
	b := inst.NewSpace(t, "b", "root", false)
	server.WrapStore(inst.Server, func(s store.Store) store.Store {
		return &racingMoveStore{Store: s, first: func(ctx context.Context) error {
			_, err := s.UpdateSpace(ctx, store.Space{ID: b, Name: "b", ParentSpaceID: a}) // b under a
			return err
		}}
	})
	// a under b: checked against the tree where b is still under root.
	c.wantError(http.MethodPut, "/api/v1/spaces/"+a, map[string]any{"name": "a", "parent_space_id": b}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	got := c.must(http.MethodGet, "/api/v1/spaces/"+a, nil, http.StatusOK)
	if got["parent_space_id"] != "root" {
		t.Fatalf("a moved although refused: %v", got)
	}
}
