package vcsagent_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/agenthub"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
)

const goodToken = "orbit-pool-token-unit-abcdefghijklmnop"

func TestVCSAgentAllowList(t *testing.T) {
	t.Parallel()
	base, err := vcsagent.ParseBitbucketURL("https://bb.corp.example/bitbucket/")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{"https://bb.corp.example/bitbucket/rest/api/latest/projects?limit=1", true},
		{"https://BB.corp.example:443/bitbucket/rest/api/latest/projects", true},
		{"https://bb.corp.example/bitbucket", true},
		{"http://bb.corp.example/bitbucket/rest/api/latest/projects", false},          // scheme
		{"https://bb.corp.example:8443/bitbucket/rest/api/latest/projects", false},    // port
		{"https://evil.example/bitbucket/rest/api/latest/projects", false},            // host
		{"https://bb.corp.example.evil.example/bitbucket/rest", false},                // host suffix
		{"https://bb.corp.example/other/rest/api/latest/projects", false},             // outside the path
		{"https://bb.corp.example/bitbucketx/rest", false},                            // a prefix that is not a segment
		{"https://bb.corp.example/bitbucket/../admin", false},                         // dot segments
		{"https://bb.corp.example/bitbucket/%2e%2e/admin", false},                     // hidden dot segments
		{"https://bb.corp.example/bitbucket//rest", false},                            // doubled slash
		{"https://user:pw@bb.corp.example/bitbucket/rest/api/latest/projects", false}, // user info
		{"/bitbucket/rest/api/latest/projects", false},                                // not absolute
		{"https://bb.corp.example/bitbucket/rest;jsessionid=x/api", false},            // path parameter
		{"https://bb.corp.example/bitbucket;x/rest/api/latest/projects", false},       // path parameter in the base
		{"https://bb.corp.example/bitbucket/rest/api/latest/projects?q=a;b", true},    // a ';' in the query is the query's
	} {
		target, err := url.Parse(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		if reason := vcsagent.Allowed(base, target); (reason == "") != tt.ok {
			t.Errorf("Allowed(%s) = %q, want allowed=%v", tt.target, reason, tt.ok)
		}
	}
	for _, bad := range []string{"ftp://bb.corp.example", "bb.corp.example", "https://u:p@bb.corp.example", "https://bb.corp.example/?q=1", ""} {
		if _, err := vcsagent.ParseBitbucketURL(bad); err == nil {
			t.Errorf("ParseBitbucketURL(%q) accepted", bad)
		}
	}
}

// fakeOrbit is an orbit-server stand-in that takes the agent's connection over with
// no check, so the test can send the agent any request.
type fakeOrbit struct {
	*httptest.Server
	sessions chan *yamux.Session
}

func startFakeOrbit(t *testing.T) *fakeOrbit {
	t.Helper()
	f := &fakeOrbit{sessions: make(chan *yamux.Session, 4)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+vcsagent.UpgradeProtocol+"\r\n\r\n")
		s, err := yamux.Client(conn, vcsagent.SessionConfig(nil))
		if err != nil {
			t.Error(err)
			return
		}
		f.sessions <- s
	}))
	t.Cleanup(f.Close)
	return f
}

// send writes req in proxy form on a new stream and reads the answer.
func send(t *testing.T, s *yamux.Session, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	stream, err := s.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if err := req.WriteProxy(stream); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(stream), req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func runAgent(t *testing.T, cfg vcsagent.Config) *vcsagent.Agent {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	a, err := vcsagent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

// TestVCSAgentRefusesOtherHosts: the agent is not an open proxy. A request for
// another host, port, scheme or a path outside its Bitbucket URL is answered by
// the agent itself (403, marked) and never sent; one for its Bitbucket URL is sent
// and its answer streamed back whole.
func TestVCSAgentRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	bitbucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		in, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", string(in))
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = w.Write(big)
	}))
	t.Cleanup(bitbucket.Close)
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1000) }))
	t.Cleanup(other.Close)

	orbit := startFakeOrbit(t)
	runAgent(t, vcsagent.Config{OrbitURL: orbit.URL, BitbucketURL: bitbucket.URL + "/bitbucket", Token: goodToken})
	var s *yamux.Session
	select {
	case s = <-orbit.sessions:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not connect")
	}

	u, _ := url.Parse(bitbucket.URL)
	for _, target := range []string{
		other.URL + "/bitbucket/rest/api/latest/projects",
		"http://169.254.169.254/latest/meta-data/",
		"https://" + u.Host + "/bitbucket/rest/api/latest/projects",
		bitbucket.URL + "/admin",
		bitbucket.URL + "/bitbucket/../admin",
	} {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		resp, body := send(t, s, req)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(vcsagent.RefusedHeader) != "refused" || !strings.Contains(string(body), "serves only") {
			t.Errorf("%s: %d %q %s", target, resp.StatusCode, resp.Header.Get(vcsagent.RefusedHeader), body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("a refused request was sent on (%d)", n)
	}

	req, _ := http.NewRequest(http.MethodPost, bitbucket.URL+"/bitbucket/rest/build-status/1.0/commits/abc", strings.NewReader("state=SUCCESSFUL"))
	resp, body := send(t, s, req)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, big) || resp.Header.Get("X-Echo") != "state=SUCCESSFUL" ||
		resp.Header.Get("X-Path") != "/bitbucket/rest/build-status/1.0/commits/abc" || resp.Header.Get(vcsagent.RefusedHeader) != "" {
		t.Fatalf("relayed: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	if hits.Load() != 1 {
		t.Fatalf("bitbucket hits: %d", hits.Load())
	}
}

// hubServer serves an agenthub.Hub's route as orbit-server's API does.
func hubServer(t *testing.T, hub *agenthub.Hub) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, rt := range hub.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			if err := rt.Handle(w, r); err != nil {
				var he *httpx.Error
				if errors.As(err, &he) {
					httpx.WriteError(w, he)
					return
				}
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return srv
}

type tokens struct{}

func (tokens) AuthenticateAgent(_ context.Context, token string) (agenthub.PoolIdentity, error) {
	if token == goodToken {
		return agenthub.PoolIdentity{PoolID: "p1", PoolName: "corp", SpaceID: "root"}, nil
	}
	return agenthub.PoolIdentity{}, agenthub.ErrBadAgentToken
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestVCSAgentWrongTokenCannotConnect: an agent with a wrong pool token is refused
// (and keeps being refused, not connected, not ready); wrong tokens past the burst
// are answered 429 without being checked; the right token connects.
func TestVCSAgentWrongTokenCannotConnect(t *testing.T) {
	t.Parallel()
	hub := agenthub.New(agenthub.Config{Auth: tokens{}, FailureBurst: 3, FailureInterval: time.Hour})
	srv := hubServer(t, hub)
	bad := runAgent(t, vcsagent.Config{OrbitURL: srv.URL, BitbucketURL: "https://bb.corp.example", Token: "orbit-pool-token-wrong-000000000000"})
	testwait.For(t, 30*time.Second, "the wrong token refused", func() bool {
		_, metrics := scrape(t, bad.HealthHandler(), "/metrics")
		return strings.Contains(metrics, `orbit_vcs_agent_connects_total{outcome="refused"}`)
	})
	if len(hub.Agents("p1")) != 0 || bad.Connected() {
		t.Fatal("an agent with a wrong token connected")
	}
	if code, _ := scrape(t, bad.HealthHandler(), "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz of a refused agent: %d", code)
	}
	// Its retries used up the address's burst: even a plain request is now 429.
	testwait.For(t, 30*time.Second, "429 past the burst", func() bool {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+vcsagent.ConnectPath, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", vcsagent.UpgradeProtocol)
		req.Header.Set("Authorization", "Bearer another-wrong-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != ""
	})

	// The right token, on a hub whose limiter this address has not used up.
	hub2 := agenthub.New(agenthub.Config{Auth: tokens{}})
	srv2 := hubServer(t, hub2)
	good := runAgent(t, vcsagent.Config{OrbitURL: srv2.URL, BitbucketURL: "https://bb.corp.example", Token: goodToken})
	testwait.For(t, 30*time.Second, "the right token connected", func() bool { return len(hub2.Agents("p1")) == 1 && good.Connected() })
	if code, _ := scrape(t, good.HealthHandler(), "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz of a connected agent: %d", code)
	}
}

// TestVCSAgentTokenNeverLogged: whatever happens (a refused token, a connection, a
// relayed and a refused request, a lost session), neither the agent's log, nor the
// hub's, nor an error carries the pool token.
func TestVCSAgentTokenNeverLogged(t *testing.T) {
	t.Parallel()
	agentLogs, hubLogs := &syncBuffer{}, &syncBuffer{}
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	bitbucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"isLastPage":true}`) }))
	t.Cleanup(bitbucket.Close)
	hub := agenthub.New(agenthub.Config{Auth: tokens{}, Logger: slog.New(slog.NewJSONHandler(hubLogs, debug))})
	srv := hubServer(t, hub)

	wrong := "orbit-pool-token-wrong-zyxwvutsrqponmlk"
	refused := runAgent(t, vcsagent.Config{OrbitURL: srv.URL, BitbucketURL: bitbucket.URL, Token: wrong,
		Logger: slog.New(slog.NewJSONHandler(agentLogs, debug))})
	testwait.For(t, 30*time.Second, "a refusal logged", func() bool { return strings.Contains(agentLogs.String(), "refused the pool token") })
	_ = refused

	a := runAgent(t, vcsagent.Config{OrbitURL: srv.URL, BitbucketURL: bitbucket.URL, Token: goodToken,
		Logger: slog.New(slog.NewJSONHandler(agentLogs, debug))})
	testwait.For(t, 30*time.Second, "connected", func() bool { return a.Connected() })
	client := &http.Client{Transport: hub.Transport(storeIntegration(), "corp")}
	resp, err := client.Get("http://vcs-agent.invalid/rest/api/latest/projects?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "isLastPage") {
		t.Fatalf("through the hub: %d %s", resp.StatusCode, body)
	}
	if _, err := client.Get("http://vcs-agent.invalid/rest/api/latest/projects"); err != nil {
		t.Fatal(err)
	}
	a.Disconnect()
	testwait.For(t, 30*time.Second, "reconnected", func() bool { return len(hub.Agents("p1")) == 1 && a.Connected() })
	_, err = (&http.Client{Transport: hub.Transport(storeIntegration(), "other-pool")}).Get("http://vcs-agent.invalid/rest")
	if err == nil || !strings.Contains(err.Error(), `no agent of pool "other-pool"`) {
		t.Fatalf("a pool without agents: %v", err)
	}
	for what, text := range map[string]string{"agent log": agentLogs.String(), "hub log": hubLogs.String(),
		"refusal": (&vcsagent.RefusedTokenError{Status: 401}).Error(), "error": err.Error()} {
		if strings.Contains(text, goodToken) || strings.Contains(text, wrong) {
			t.Fatalf("the %s holds a pool token:\n%s", what, text)
		}
	}
}

// revocable accepts goodToken until revoked.
type revocable struct{ revoked atomic.Bool }

func (r *revocable) AuthenticateAgent(ctx context.Context, token string) (agenthub.PoolIdentity, error) {
	if r.revoked.Load() {
		return agenthub.PoolIdentity{}, agenthub.ErrBadAgentToken
	}
	return tokens{}.AuthenticateAgent(ctx, token)
}

// TestVCSAgentRevokedTokenCutOff: revoking the token of a connected agent ends its
// session at the next check, and it cannot come back.
func TestVCSAgentRevokedTokenCutOff(t *testing.T) {
	t.Parallel()
	auth := &revocable{}
	hub := agenthub.New(agenthub.Config{Auth: auth, Reauthenticate: 20 * time.Millisecond})
	srv := hubServer(t, hub)
	a := runAgent(t, vcsagent.Config{OrbitURL: srv.URL, BitbucketURL: "https://bb.corp.example", Token: goodToken})
	testwait.For(t, 30*time.Second, "connected", func() bool { return len(hub.Agents("p1")) == 1 })
	auth.revoked.Store(true)
	testwait.For(t, 30*time.Second, "cut off and refused", func() bool {
		_, metrics := scrape(t, a.HealthHandler(), "/metrics")
		return len(hub.Agents("p1")) == 0 && !a.Connected() && strings.Contains(metrics, `orbit_vcs_agent_connects_total{outcome="refused"}`)
	})
}

// TestVCSAgentOrbitURLMustBeHTTPS: the handshake carries the pool token, so an
// http:// orbit URL is refused unless its host is this machine, or the insecure
// option says so; the refusal names the flag.
func TestVCSAgentOrbitURLMustBeHTTPS(t *testing.T) {
	t.Parallel()
	cfg := func(orbitURL string, insecure bool) vcsagent.Config {
		return vcsagent.Config{OrbitURL: orbitURL, BitbucketURL: "https://bb.corp.example", Token: goodToken, InsecureOrbitURLAllowHTTP: insecure}
	}
	for _, ok := range []vcsagent.Config{
		cfg("https://orbit.example.com", false),
		cfg("http://127.0.0.1:8700", false),
		cfg("http://127.8.9.10:8700", false),
		cfg("http://[::1]:8700", false),
		cfg("http://localhost:8700", false),
		cfg("http://LOCALHOST", false),
		cfg("http://orbit.internal:8700", true),
	} {
		if _, err := vcsagent.New(ok); err != nil {
			t.Errorf("%s (insecure %v): %v", ok.OrbitURL, ok.InsecureOrbitURLAllowHTTP, err)
		}
	}
	for _, bad := range []string{"http://orbit.example.com", "http://10.0.0.5:8700", "http://localhost.evil.example", "http://[::ffff:10.0.0.1]"} {
		_, err := vcsagent.New(cfg(bad, false))
		if err == nil || !strings.Contains(err.Error(), "https://") || !strings.Contains(err.Error(), "--insecure-orbit-url-allow-http") {
			t.Errorf("%s: %v, want a refusal asking for https://", bad, err)
		}
	}
}

// TestVCSAgentAcceptsStreamsBeyondItsSlots: with every slot taken by a slow
// Bitbucket request, further requests are still accepted at once (orbit-server's
// yamux would otherwise end the whole session when its stream-open timeout runs
// out), wait for a slot, and are all served once the slow one ends.
func TestVCSAgentAcceptsStreamsBeyondItsSlots(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	bitbucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(bitbucket.Close)
	orbit := startFakeOrbit(t)
	a := runAgent(t, vcsagent.Config{OrbitURL: orbit.URL, BitbucketURL: bitbucket.URL, Token: goodToken, MaxStreams: 1})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // before the agent stops: it waits for its requests
	var s *yamux.Session
	select {
	case s = <-orbit.sessions:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not connect")
	}
	const n = 4
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, bitbucket.URL+"/rest/api/latest/projects", nil)
			resp, _ := send(t, s, req)
			statuses <- resp.StatusCode
		})
	}
	<-arrived // one holds the only slot ...
	testwait.For(t, 30*time.Second, "the other requests accepted and waiting", func() bool {
		rec := httptest.NewRecorder()
		a.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return strings.Contains(rec.Body.String(), fmt.Sprintf("orbit_vcs_agent_requests_waiting %d\n", n-1))
	})
	unblock()
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	if s.IsClosed() {
		t.Fatal("the session ended")
	}
}

// TestVCSAgentRefusesMethodsAndMarks: a request with a method Bitbucket's API does
// not use is refused by the agent and never sent; an answer from Bitbucket that
// carries the agent's refusal header reaches orbit-server without it (only the
// agent's own answers are marked).
func TestVCSAgentRefusesMethodsAndMarks(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	bitbucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set(vcsagent.RefusedHeader, "refused")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errors":[{"message":"no"}]}`)
	}))
	t.Cleanup(bitbucket.Close)
	orbit := startFakeOrbit(t)
	runAgent(t, vcsagent.Config{OrbitURL: orbit.URL, BitbucketURL: bitbucket.URL, Token: goodToken})
	var s *yamux.Session
	select {
	case s = <-orbit.sessions:
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not connect")
	}
	for _, m := range []string{"TRACE", "CONNECT", "OPTIONS", "PROPFIND"} {
		req, _ := http.NewRequest(m, bitbucket.URL+"/rest/api/latest/projects", nil)
		resp, body := send(t, s, req)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(vcsagent.RefusedHeader) != "refused" || !strings.Contains(string(body), "method") {
			t.Errorf("%s: %d %q %s", m, resp.StatusCode, resp.Header.Get(vcsagent.RefusedHeader), body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("a refused method was sent on (%d)", n)
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, bitbucket.URL+"/rest/api/latest/projects", nil)
		resp, _ := send(t, s, req)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(vcsagent.RefusedHeader) != "" {
			t.Errorf("%s relayed: %d, refusal header %q", m, resp.StatusCode, resp.Header.Get(vcsagent.RefusedHeader))
		}
	}
	if n := hits.Load(); n != 6 {
		t.Fatalf("bitbucket hits: %d, want 6", n)
	}
}

// TestVCSAgentURLErrorsHidePasswords: a wrong --orbit-url or --bitbucket-url is
// refused with an error that does not repeat a password it carries.
func TestVCSAgentURLErrorsHidePasswords(t *testing.T) {
	t.Parallel()
	const password = "s3cret-pw"
	for _, cfg := range []vcsagent.Config{
		{OrbitURL: "https://user:" + password + "@orbit.example", BitbucketURL: "https://bb.corp.example", Token: goodToken},
		{OrbitURL: "http://user:" + password + "@orbit.example", BitbucketURL: "https://bb.corp.example", Token: goodToken},
		{OrbitURL: "https://user:" + password + "@orbit.example/%zz", BitbucketURL: "https://bb.corp.example", Token: goodToken},
		{OrbitURL: "https://orbit.example", BitbucketURL: "https://user:" + password + "@bb.corp.example", Token: goodToken},
		{OrbitURL: "https://orbit.example", BitbucketURL: "ftp://user:" + password + "@bb.corp.example", Token: goodToken},
		{OrbitURL: "https://orbit.example", BitbucketURL: "https://user:" + password + "@bb.corp.example/%zz", Token: goodToken},
	} {
		_, err := vcsagent.New(cfg)
		if err == nil {
			t.Fatalf("%+v accepted", cfg)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}
