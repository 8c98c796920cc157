package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
)

type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that answers with the given statuses in turn (the last
// one repeats) and records what it got.
type receiver struct {
	URL      string
	mu       sync.Mutex
	got      []received
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		status := http.StatusOK
		if n := len(rc.got); len(rc.statuses) > 0 {
			status = rc.statuses[min(n, len(rc.statuses))-1]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "ack")
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hook"
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func verify(secret string, body []byte, header string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal([]byte(header), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

func (c *apiClient) cloudHook(events []string, secret *string, active bool, target string) string {
	c.t.Helper()
	body := map[string]any{"url": target, "events": events, "active": active, "description": "test"}
	if secret != nil {
		body["secret"] = *secret
	}
	return c.expect("POST", "/2.0/repositories/acme/infra/hooks", cloudAdmin(), body, 201).json(c.t)["uuid"].(string)
}

func (c *apiClient) fire(ev sandbox.Event) []sandbox.Delivery {
	c.t.Helper()
	r := c.expect("POST", "/_sandbox/events", nil, ev, 200)
	var out struct {
		Deliveries []sandbox.Delivery `json:"deliveries"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		c.t.Fatal(err)
	}
	return out.Deliveries
}

func ptr[T any](v T) *T { return &v }

func TestCloudDeliveriesSignedOnlyWithSecret(t *testing.T) {
	t.Parallel()
	c := start(t)
	signed, unsigned, inactive, other := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	signedID := c.cloudHook([]string{"repo:push"}, ptr("topsecret"), true, signed.URL)
	c.cloudHook([]string{"repo:push"}, nil, true, unsigned.URL)
	c.cloudHook([]string{"repo:push"}, ptr("x"), false, inactive.URL)
	c.cloudHook([]string{"pullrequest:created"}, ptr("x"), true, other.URL)

	deliveries := c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main",
		Commits: []sandbox.Commit{{Hash: strings.Repeat("a", 40), Message: "first"}, {Hash: strings.Repeat("b", 40), Message: "second"}}})
	if len(deliveries) != 2 {
		t.Fatalf("%d deliveries, want 2 (active hooks subscribed to repo:push)", len(deliveries))
	}
	if len(inactive.requests()) != 0 || len(other.requests()) != 0 {
		t.Fatal("inactive or unsubscribed hook got a delivery")
	}
	s := signed.requests()
	if len(s) != 1 {
		t.Fatalf("signed hook got %d requests", len(s))
	}
	h := s[0].header
	if !verify("topsecret", s[0].body, h.Get("X-Hub-Signature")) {
		t.Fatalf("X-Hub-Signature %q does not verify", h.Get("X-Hub-Signature"))
	}
	if h.Get("X-Hub-Signature-256") != "" {
		t.Fatal("Bitbucket does not send GitHub's X-Hub-Signature-256")
	}
	for name, want := range map[string]string{
		"X-Event-Key": "repo:push", "X-Attempt-Number": "1", "Content-Type": "application/json",
		"X-Hook-UUID": strings.Trim(signedID, "{}"),
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if h.Get("X-Request-UUID") == "" || !strings.HasPrefix(h.Get("User-Agent"), "Bitbucket-Webhooks/") {
		t.Errorf("missing X-Request-UUID or Bitbucket User-Agent: %v", h)
	}
	u := unsigned.requests()
	if len(u) != 1 || u[0].header.Get("X-Hub-Signature") != "" {
		t.Fatalf("hook without secret: %d requests, signature %q", len(u), u[0].header.Get("X-Hub-Signature"))
	}

	var payload struct {
		Push struct {
			Changes []struct {
				New struct {
					Name   string `json:"name"`
					Target struct {
						Hash string `json:"hash"`
					} `json:"target"`
				} `json:"new"`
				Commits []struct {
					Hash string `json:"hash"`
				} `json:"commits"`
			} `json:"changes"`
		} `json:"push"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(s[0].body, &payload); err != nil {
		t.Fatal(err)
	}
	ch := payload.Push.Changes[0]
	if ch.New.Name != "main" || ch.New.Target.Hash != strings.Repeat("b", 40) || len(ch.Commits) != 2 || ch.Commits[0].Hash != strings.Repeat("b", 40) || payload.Repository.FullName != "acme/infra" {
		t.Fatalf("push payload: %s", s[0].body)
	}

	// The control API lists what was delivered.
	var listed struct {
		Deliveries []sandbox.Delivery `json:"deliveries"`
	}
	r := c.expect("GET", "/_sandbox/deliveries?hook="+url.QueryEscape(signedID), nil, nil, 200)
	if err := json.Unmarshal(r.body, &listed); err != nil || len(listed.Deliveries) != 1 || listed.Deliveries[0].Status != 200 || listed.Deliveries[0].ResponseBody != "ack" {
		t.Fatalf("deliveries: %s", r.body)
	}
}

func TestCloudDeliveryRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		statuses     []int
		wantAttempts int
	}{
		{"success first time", []int{200}, 1},
		{"two 5xx then success", []int{500, 503, 200}, 3},
		{"5xx every time stops after three attempts", []int{502}, 3},
		{"4xx is not retried", []int{404}, 1},
		{"429 is not retried", []int{429}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const delay = 20 * time.Millisecond
			c := startWith(t, sandbox.Config{CloudRetryDelay: delay})
			rc := newReceiver(t, tt.statuses...)
			c.cloudHook([]string{"pullrequest:created"}, ptr("k"), true, rc.URL)
			deliveries := c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created", PullRequest: &sandbox.PullRequest{ID: 3}})
			got := rc.requests()
			if len(got) != tt.wantAttempts || len(deliveries) != tt.wantAttempts {
				t.Fatalf("%d requests / %d delivery records, want %d", len(got), len(deliveries), tt.wantAttempts)
			}
			// Retries are spaced out (the delay, then twice it), never back to back.
			for i := 1; i < len(deliveries); i++ {
				if gap := deliveries[i].At.Sub(deliveries[i-1].At); gap < delay<<(i-1) {
					t.Errorf("attempt %d came %s after the previous one, want at least %s", i+1, gap, delay<<(i-1))
				}
			}
			for i, req := range got {
				if req.header.Get("X-Attempt-Number") != fmt.Sprint(i+1) {
					t.Errorf("attempt %d: X-Attempt-Number %q", i+1, req.header.Get("X-Attempt-Number"))
				}
				if req.header.Get("X-Request-UUID") != got[0].header.Get("X-Request-UUID") {
					t.Error("retries must keep the X-Request-UUID")
				}
				if string(req.body) != string(got[0].body) || !verify("k", req.body, req.header.Get("X-Hub-Signature")) {
					t.Error("retries must resend the same signed body")
				}
			}
		})
	}
}

func TestCloudDeliveryTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	c := startWith(t, sandbox.Config{DeliveryTimeout: 50 * time.Millisecond, CloudRetryDelay: time.Millisecond})
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		select { // hang until the sandbox gives up on this attempt
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c.cloudHook([]string{"repo:push"}, nil, true, srv.URL)
	deliveries := c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push"})
	if len(deliveries) != 3 {
		t.Fatalf("%d attempts, want 3", len(deliveries))
	}
	for _, d := range deliveries {
		if d.Error == "" || d.Status != 0 {
			t.Fatalf("a timed-out attempt must record an error and no status: %+v", d)
		}
	}
}

func (c *apiClient) dcHook(events []string, secret string, target string) int {
	c.t.Helper()
	body := map[string]any{"name": "orbit", "url": target, "events": events}
	if secret != "" {
		body["configuration"] = map[string]any{"secret": secret}
	}
	return int(c.expect("POST", dcRepoPath+"/webhooks", dcAdmin(), body, 200).json(c.t)["id"].(float64))
}

func TestDataCenterDeliveries(t *testing.T) {
	t.Parallel()
	c := start(t)
	failing := newReceiver(t, 500)
	plain := newReceiver(t)
	c.dcHook([]string{"repo:refs_changed", "pr:opened"}, "dcsecret", failing.URL)
	c.dcHook([]string{"repo:refs_changed"}, "", plain.URL)

	deliveries := c.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed",
		OldHash: strings.Repeat("1", 40), Commits: []sandbox.Commit{{Hash: strings.Repeat("2", 40)}}})
	if len(deliveries) != 2 {
		t.Fatalf("%d deliveries, want 2", len(deliveries))
	}
	f := failing.requests()
	if len(f) != 1 {
		t.Fatalf("Data Center does not retry: got %d requests", len(f))
	}
	h := f[0].header
	if !verify("dcsecret", f[0].body, h.Get("X-Hub-Signature")) || h.Get("X-Event-Key") != "repo:refs_changed" || h.Get("X-Request-Id") == "" {
		t.Fatalf("headers: %v", h)
	}
	if h.Get("X-Hook-UUID") != "" || h.Get("X-Attempt-Number") != "" || h.Get("X-Request-UUID") != "" {
		t.Fatalf("Data Center sends no hook or attempt headers: %v", h)
	}
	var payload struct {
		EventKey string `json:"eventKey"`
		Changes  []struct {
			RefID    string `json:"refId"`
			FromHash string `json:"fromHash"`
			ToHash   string `json:"toHash"`
			Type     string `json:"type"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(f[0].body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.EventKey != "repo:refs_changed" || payload.Changes[0].RefID != "refs/heads/main" || payload.Changes[0].ToHash != strings.Repeat("2", 40) || payload.Changes[0].Type != "UPDATE" {
		t.Fatalf("payload: %s", f[0].body)
	}
	if p := plain.requests(); len(p) != 1 || p[0].header.Get("X-Hub-Signature") != "" {
		t.Fatal("hook without secret must get an unsigned delivery")
	}
}

func TestDataCenterTestConnectionPingIsUnsigned(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)
	id := c.dcHook([]string{"repo:refs_changed"}, "dcsecret", rc.URL)
	for _, query := range []string{"url=" + url.QueryEscape(rc.URL), fmt.Sprintf("webhookId=%d", id)} {
		r := c.expect("POST", dcRepoPath+"/webhooks/test?"+query, dcAdmin(), nil, 200).json(t)
		if r["response"].(map[string]any)["statusCode"] != float64(200) {
			t.Fatalf("test result: %v", r)
		}
	}
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d pings, want 2", len(got))
	}
	for _, req := range got {
		if req.header.Get("X-Event-Key") != "diagnostics:ping" || req.header.Get("X-Hub-Signature") != "" {
			t.Fatalf("ping must be an unsigned diagnostics:ping: %v", req.header)
		}
	}
	c.expect("POST", dcRepoPath+"/webhooks/test?url="+url.QueryEscape(rc.URL), bearer(dcReadToken), nil, 401)
}

// TestPayloadShapes checks that every field of Bitbucket's real payloads (fixtures in
// testdata/bitbucket/payloads) is present in the sandbox's deliveries, down to three levels.
func TestPayloadShapes(t *testing.T) {
	t.Parallel()
	dir, err := contract.FindDir()
	if err != nil {
		t.Fatal(err)
	}
	fixtures := filepath.Join(filepath.Dir(dir), "payloads")
	tests := []struct {
		fixture string
		ev      sandbox.Event
	}{
		{"cloud/push.json", sandbox.Event{Product: "cloud", Event: "repo:push", OldHash: strings.Repeat("c", 40)}},
		{"cloud/pr_created.json", sandbox.Event{Product: "cloud", Event: "pullrequest:created"}},
		{"cloud/pr_fulfilled.json", sandbox.Event{Product: "cloud", Event: "pullrequest:fulfilled"}},
		{"cloud/pr_comment_created.json", sandbox.Event{Product: "cloud", Event: "pullrequest:comment_created", Comment: "hi"}},
		{"datacenter/push.json", sandbox.Event{Product: "datacenter", Event: "repo:refs_changed"}},
		{"datacenter/pr_open.json", sandbox.Event{Product: "datacenter", Event: "pr:opened"}},
		{"datacenter/pr_merged.json", sandbox.Event{Product: "datacenter", Event: "pr:merged"}},
		{"datacenter/pr_modified_meta.json", sandbox.Event{Product: "datacenter", Event: "pr:modified"}},
	}
	c := start(t)
	rc := newReceiver(t)
	c.cloudHook([]string{"repo:push", "pullrequest:created", "pullrequest:fulfilled", "pullrequest:comment_created"}, ptr("k"), true, rc.URL)
	c.dcHook([]string{"repo:refs_changed", "pr:opened", "pr:merged", "pr:modified"}, "k", rc.URL)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(fixtures, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			ev := tt.ev
			ev.Repository = "infra"
			ev.Workspace, ev.Project = "acme", "PLAT"
			if ev.Product == "cloud" {
				ev.Project = ""
			} else {
				ev.Workspace = ""
			}
			if ev.Event != "repo:push" && ev.Event != "repo:refs_changed" {
				ev.PullRequest = &sandbox.PullRequest{ID: 9, Title: "t", Description: "d"}
			}
			deliveries, err := c.sb.Fire(context.Background(), ev)
			if err != nil || len(deliveries) != 1 {
				t.Fatalf("fire: %v, %d deliveries", err, len(deliveries))
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(deliveries[0].RequestBody), &got); err != nil {
				t.Fatal(err)
			}
			if missing := missingKeys(want, got, "", 3); len(missing) > 0 {
				t.Fatalf("sandbox payload lacks fields of the real one: %s", strings.Join(missing, ", "))
			}
		})
	}
}

// missingKeys lists object keys present in want but absent from got, to depth levels.
func missingKeys(want, got any, path string, depth int) []string {
	if depth == 0 {
		return nil
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + " (not an object)"}
		}
		for k, v := range w {
			if k == "username" {
				// The fixtures predate Bitbucket Cloud's removal of username from user
				// objects (actor, author, owner); current payloads do not carry it.
				continue
			}
			gv, present := g[k]
			if !present {
				out = append(out, path+"."+k)
				continue
			}
			if v != nil && gv != nil {
				out = append(out, missingKeys(v, gv, path+"."+k, depth-1)...)
			}
		}
	case []any:
		g, ok := got.([]any)
		if ok && len(w) > 0 && len(g) > 0 {
			out = append(out, missingKeys(w[0], g[0], path+"[0]", depth)...)
		}
	}
	sort.Strings(out)
	return out
}
