package loadgen

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A receiver that checks what Bitbucket would send, fails every first attempt
// with 503, and remembers request ids.
func TestRunSignsRetriesAndRepeats(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Hub-Signature") != Sign(secret, body) || r.Header.Get("X-Event-Key") != "repo:push" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
			Push struct {
				Changes []struct {
					New struct {
						Name   string `json:"name"`
						Target struct {
							Hash string `json:"hash"`
						} `json:"target"`
					} `json:"new"`
				} `json:"changes"`
			} `json:"push"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Repository.FullName != "ws/repo" || len(p.Push.Changes) != 1 ||
			p.Push.Changes[0].New.Name != "main" || len(p.Push.Changes[0].New.Target.Hash) != 40 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.Header.Get("X-Attempt-Number") == "1" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		seen[r.Header.Get("X-Request-UUID")]++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	var out bytes.Buffer
	err := Main(t.Context(), []string{"-targets", srv.URL, "-deliveries", "50", "-concurrency", "4", "-repeat", "0.2", "-repository", "ws/repo", "-run-id", "t"},
		func(k string) string {
			if k == SecretEnv {
				return string(secret)
			}
			return ""
		}, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var last SummaryLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	s := last.Summary
	if s.Deliveries != 50 || s.Failed != 0 || s.Retries != 50+s.Repeats || s.Repeats < 5 {
		t.Fatalf("summary %+v", s)
	}
	if len(lines)-1 != s.Deliveries+s.Repeats {
		t.Fatalf("%d ack lines for %d acks", len(lines)-1, s.Deliveries+s.Repeats)
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct request ids reached the receiver, want 50", len(seen))
	}
	repeated := 0
	for _, n := range seen {
		repeated += n - 1
	}
	if repeated != s.Repeats {
		t.Fatalf("receiver saw %d repeats, summary says %d", repeated, s.Repeats)
	}
}

// The bodies the load sends are CloudPush's, byte for byte, though built from a
// template.
func TestPushTemplateIsCloudPush(t *testing.T) {
	cfg := Config{Repository: "acme/infra", Branch: "main", template: &pushTemplate{}}
	for i := range 3 {
		commit := CommitFor("tpl", i)
		if got, want := cfg.push(commit), CloudPush("acme/infra", "main", commit); !bytes.Equal(got, want) {
			t.Fatalf("template body for %s:\n%s\nwant\n%s", commit, got, want)
		}
	}
}
