package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
)

// A Data Center server that answers the default branch of each repository by slug:
// "empty" has none (404, as Data Center answers for an empty repository), "locked"
// refuses with 401, any other is on "develop". It records the most reads it saw at once.
type defaultBranchServer struct {
	mu             sync.Mutex
	inFlight, most int
	release        chan struct{}
}

func (s *defaultBranchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()
	if s.release != nil {
		<-s.release
	}
	w.Header().Set("Content-Type", "application/json")
	switch slug := strings.Split(r.URL.Path, "/")[7]; slug {
	case "empty":
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"context":null,"message":"Repository PLAT/empty does not have a default branch.","exceptionName":"com.atlassian.bitbucket.repository.NoDefaultBranchException"}]}`))
	case "locked":
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"context":null,"message":"You are not permitted to access this resource","exceptionName":"com.atlassian.bitbucket.AuthorisationException"}]}`))
	default:
		_, _ = w.Write([]byte(`{"id":"refs/heads/develop","displayId":"develop","type":"BRANCH"}`))
	}
}

func defaultBranchClient(t *testing.T, s *defaultBranchServer) *datacenter.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := datacenter.New(bitbucket.Secret("token"), bitbucket.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFillDefaultBranches(t *testing.T) {
	t.Parallel()
	s := &defaultBranchServer{}
	entries := []repositoryEntry{{namespace: "PLAT", slug: "app"}, {namespace: "PLAT", slug: "empty"}, {namespace: "PLAT", slug: "web"}}
	if i, err := fillDefaultBranches(context.Background(), defaultBranchClient(t, s), entries); err != nil {
		t.Fatalf("entry %d: %v", i, err)
	}
	for i, want := range []string{"develop", "", "develop"} {
		if entries[i].mainBranch != want {
			t.Errorf("%s: main branch %q, want %q", entries[i].slug, entries[i].mainBranch, want)
		}
	}

	entries = []repositoryEntry{{namespace: "PLAT", slug: "app"}, {namespace: "PLAT", slug: "locked"}}
	i, err := fillDefaultBranches(context.Background(), defaultBranchClient(t, &defaultBranchServer{}), entries)
	if !bitbucket.IsUnauthorized(err) || i != 1 {
		t.Fatalf("got entry %d, %v; want entry 1 (locked) and its 401", i, err)
	}
}

// Reads run defaultBranchReads at a time: with 20 repositories and a server that holds
// every request until all expected ones arrived, exactly that many are in flight.
func TestFillDefaultBranchesBounded(t *testing.T) {
	t.Parallel()
	s := &defaultBranchServer{release: make(chan struct{})}
	c := defaultBranchClient(t, s)
	entries := make([]repositoryEntry, 20)
	for i := range entries {
		entries[i] = repositoryEntry{namespace: "PLAT", slug: "repo"}
	}
	done := make(chan error, 1)
	go func() { _, err := fillDefaultBranches(context.Background(), c, entries); done <- err }()
	for {
		s.mu.Lock()
		n := s.inFlight
		s.mu.Unlock()
		if n == defaultBranchReads {
			break
		}
		if n > defaultBranchReads {
			t.Fatalf("%d reads in flight, want at most %d", n, defaultBranchReads)
		}
		runtime.Gosched()
	}
	close(s.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.most != defaultBranchReads {
		t.Fatalf("at most %d reads ran at once, want %d", s.most, defaultBranchReads)
	}
}
