package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/agenthub"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
)

// newPoolWithToken creates the pool name in root and issues a token of it, through
// the API.
func newPoolWithToken(t *testing.T, c *client, name string) (poolID, token string) {
	t.Helper()
	pool := newPool(t, c, name, "root")
	issued := c.must(http.MethodPost, poolsPath+"/"+str(pool, "id")+"/tokens", map[string]any{"description": "e2e"}, http.StatusCreated)
	if str(issued, "token") == "" {
		t.Fatalf("no token in %v", issued)
	}
	return str(pool, "id"), str(issued, "token")
}

// runningAgent is an orbit-vcs-agent of the test, stopped by stop.
type runningAgent struct {
	*vcsagent.Agent
	stop func()
}

func startAgent(t *testing.T, orbitURL, bitbucketURL, token, name string, logs *syncBuffer) *runningAgent {
	t.Helper()
	a, err := vcsagent.New(vcsagent.Config{OrbitURL: orbitURL, BitbucketURL: bitbucketURL, Token: token, Name: name,
		Version: "1.2.3-test", Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	var once sync.Once
	ra := &runningAgent{Agent: a, stop: func() { once.Do(func() { cancel(); <-done }) }}
	t.Cleanup(ra.stop)
	return ra
}

// agentLoop is a loop whose orbit-server may reach the sandbox only through an
// agent of pool "corp".
type agentLoop struct {
	loop                  *loop
	hub                   *agenthub.Hub
	poolID, token         string
	serverLogs, agentLogs *syncBuffer
}

func newAgentLoop(t *testing.T, agentWait time.Duration) *agentLoop {
	t.Helper()
	sb := sandbox.StartTest(t)
	if err := sb.Seed(sandbox.DemoSeed()); err != nil {
		t.Fatal(err)
	}
	policy, err := egress.Parse("bitbucket.example.com")
	if err != nil {
		t.Fatal(err)
	}
	al := &agentLoop{serverLogs: &syncBuffer{}, agentLogs: &syncBuffer{}}
	inst := servertest.Start(t,
		servertest.WithCredentialChecker(&server.BitbucketChecker{Egress: policy}),
		servertest.WithLogger(slog.New(slog.NewJSONHandler(al.serverLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		servertest.WithConfig(func(c *server.Config) {
			c.BitbucketCloudAPIURL = sb.URL
			c.Egress = policy
			c.VCSAgentWait = agentWait
		}))
	al.loop = &loop{t: t, sb: sb, inst: inst, c: newClient(t, inst, inst.AdminKey), stacks: map[string]string{}}
	al.loop.c.check = openAPIChecker(t)
	al.poolID, al.token = newPoolWithToken(t, al.loop.c, "corp")
	al.hub = inst.Server.VCSAgents()
	return al
}

// connected waits until n agents of the pool are connected.
func (al *agentLoop) connected(n int) {
	al.loop.t.Helper()
	testwait.For(al.loop.t, 30*time.Second, "agents connected", func() bool { return len(al.hub.ConnectedAgents(al.poolID)) == n })
}

// start starts an agent of the pool.
func (al *agentLoop) start(name string) *runningAgent {
	return startAgent(al.loop.t, al.loop.inst.URL, al.loop.sb.URL, al.token, name, al.agentLogs)
}

// privateDC is the body of a Data Center integration reached through the pool.
func (al *agentLoop) privateDC(name string) map[string]any {
	return with(dcBody(name, "root", "sandbox-dc-admin-token"), "api_host", "private://corp",
		"user_facing_host", al.loop.sb.URL, "username", "admin", "vcs_checks", "individual")
}

// TestVCSAgentEndToEnd: orbit-server's egress policy refuses the sandbox's address,
// so only the agent reaches it. A private://corp integration is created with its
// credential check passing through the agent; a push makes a run whose status lands
// through the agent; with the agent stopped the final status waits in the queue and
// lands once the agent is back; with two agents, killing one loses nothing.
func TestVCSAgentEndToEnd(t *testing.T) {
	t.Parallel()
	al := newAgentLoop(t, 100*time.Millisecond)
	l, sb, inst, hub, agentPoolID, agentPoolToken := al.loop, al.loop.sb, al.loop.inst, al.hub, al.poolID, al.token
	serverLogs, agentLogs := al.serverLogs, al.agentLogs
	connected := al.connected

	// Without the agent, orbit-server may not reach the sandbox at all.
	l.c.wantError(http.MethodPost, "/api/v1/integrations", with(dcBody("dc-direct", "root", "sandbox-dc-admin-token"),
		"api_host", sb.URL, "username", "admin"), http.StatusBadRequest, "invalid_argument", "api_host")

	private := al.privateDC("dc-private")
	// No agent yet: the check says so, and nothing is stored.
	msg := l.c.wantError(http.MethodPost, "/api/v1/integrations", private, http.StatusBadRequest, "invalid_argument", "api_host")
	if !strings.Contains(msg, `no agent of pool "corp" is connected`) {
		t.Fatalf("message without an agent: %q", msg)
	}

	first := startAgent(t, inst.URL, sb.URL, agentPoolToken, "agent-a", agentLogs)
	connected(1)
	if got := hub.Agents(agentPoolID)[0]; got.Version != "1.2.3-test" || got.Name != "agent-a" || got.Since.IsZero() || got.BitbucketURL != sb.URL {
		t.Fatalf("connected agent: %+v", got)
	}
	checks := countRequests(sb, http.MethodGet, "/rest/api/latest/projects")
	dc := l.integration(private) // created: its credential check went through the agent
	if countRequests(sb, http.MethodGet, "/rest/api/latest/projects") <= checks {
		t.Fatal("the credential check did not reach the sandbox")
	}
	res := l.c.must(http.MethodPost, "/api/v1/integrations/"+dc+"/validate", nil, http.StatusOK)
	if res["valid"] != true || res["reason"] != "ok" {
		t.Fatalf("validate through the agent: %v", res)
	}
	stack := l.bind("net", dc, "PLAT")

	head := hash(900)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})
	runs := l.waitRuns(head, 1)
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "INPROGRESS"})

	// The agent stops: the final status waits in the queue ...
	first.stop()
	connected(0)
	l.finish(runs[0].ID, "succeeded")
	eventually(t, "the status waiting for an agent", func() (bool, string) {
		return metricFloat(t, l.c, `orbit_status_posts_total{outcome="waiting",product="bitbucket_datacenter"}`) >= 2, "not yet"
	})
	if got := l.statusesOf("datacenter", head)[stackKey(stack)]; got != "INPROGRESS" {
		t.Fatalf("status without an agent: %s", got)
	}
	if metricFloat(t, l.c, `orbit_vcs_agent_requests_total{outcome="no_agent",pool="corp"}`) == 0 {
		t.Fatal("no_agent requests not counted")
	}
	// ... and lands once an agent is back.
	startAgent(t, inst.URL, sb.URL, agentPoolToken, "agent-b", agentLogs)
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "SUCCESSFUL"})
	for _, r := range l.runs(head) {
		if r.StatusError != "" {
			t.Fatalf("run keeps a status error: %+v", r)
		}
	}

	// Two agents; one is killed while statuses are being posted: none is lost.
	third := startAgent(t, inst.URL, sb.URL, agentPoolToken, "agent-c", agentLogs)
	connected(2)
	if v := metricFloat(t, l.c, `orbit_vcs_agents_connected{pool="corp"}`); v != 2 {
		t.Fatalf("orbit_vcs_agents_connected = %v", v)
	}
	others := []string{l.bind("dns", dc, "PLAT"), l.bind("iam", dc, "PLAT")}
	next := hash(901)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "main", Commits: []sandbox.Commit{{Hash: next}}})
	third.Disconnect() // cut off first, as a crash would
	third.stop()
	runs = l.waitRuns(next, 3)
	for _, r := range runs {
		l.finish(r.ID, "succeeded")
	}
	want := map[string]string{stackKey(stack): "SUCCESSFUL"}
	for _, id := range others {
		want[stackKey(id)] = "SUCCESSFUL"
	}
	l.waitStatuses("datacenter", next, want)
	connected(1)

	// The pool token is in no log line, of the server or of the agents.
	for what, logs := range map[string]string{"server": serverLogs.String(), "agent": agentLogs.String()} {
		if strings.Contains(logs, agentPoolToken) {
			t.Fatalf("the %s log holds the pool token", what)
		}
		if !strings.Contains(logs, "connected") {
			t.Fatalf("the %s log says nothing of the connection:\n%s", what, logs)
		}
	}
}

func countRequests(sb *sandbox.TestServer, method, path string) int {
	n := 0
	for _, r := range sb.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// TestVCSAgentOutageKeepsStatusAttempts: a status waits for an agent far more
// times than a status job has attempts; the waits count none, so after the agent
// reconnects a transient failure (one 503 from Bitbucket) is retried and the status
// lands, instead of the job being abandoned at its first failure.
func TestVCSAgentOutageKeepsStatusAttempts(t *testing.T) {
	t.Parallel()
	al := newAgentLoop(t, 10*time.Millisecond)
	l := al.loop
	agent := al.start("agent-a")
	al.connected(1)
	dc := l.integration(al.privateDC("dc-outage"))
	stack := l.bind("net", dc, "PLAT")
	head := hash(950)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})
	runs := l.waitRuns(head, 1)
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "INPROGRESS"})

	agent.stop()
	al.connected(0)
	l.finish(runs[0].ID, "succeeded")
	const waits = 3 * 15 // maxStatusAttempts, three times over
	eventually(t, "the status waiting for an agent", func() (bool, string) {
		n := metricFloat(t, l.c, `orbit_status_posts_total{outcome="waiting",product="bitbucket_datacenter"}`)
		return n >= waits, fmt.Sprintf("%v waits", n)
	})
	fault := l.sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 1, Method: http.MethodPost,
		PathPrefix: "/rest/api/latest/projects/PLAT/repos/infra/commits/" + head + "/builds"})
	al.start("agent-b")
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "SUCCESSFUL"})
	for _, f := range l.sb.Faults() {
		if f.ID == fault && f.Served != 1 {
			t.Fatalf("the 503 was served %d times, want 1", f.Served)
		}
	}
	// The 503 was retried (at least once: under the race detector a post through
	// the agent that has just connected may also meet another transient failure;
	// what matters is that none of the 45 waits used up an attempt).
	if n := metricFloat(t, l.c, `orbit_status_posts_total{outcome="retry",product="bitbucket_datacenter"}`); n < 1 {
		t.Fatalf("status posts retried %v times, want at least 1 (the 503)", n)
	}
	for _, r := range l.runs(head) {
		if r.StatusError != "" {
			t.Fatalf("run keeps a status error: %+v", r)
		}
	}
}

// fakeAgent connects to orbit-server as an agent of the pool with token (the
// handshake of package vcsagent, by hand) and serves every stream with serve.
func fakeAgent(t *testing.T, orbitURL, token string, serve func(stream net.Conn)) {
	t.Helper()
	u, err := url.Parse(orbitURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, err := http.NewRequest(http.MethodGet, orbitURL+vcsagent.ConnectPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", vcsagent.UpgradeProtocol)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(vcsagent.BitbucketURLHeader, "https://bitbucket.corp.example")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if br.Buffered() != 0 {
		t.Fatal("bytes after the handshake")
	}
	session, err := yamux.Server(conn, vcsagent.SessionConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { session.Close() })
	go func() {
		for {
			stream, err := session.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer stream.Close()
				serve(stream)
			}()
		}
	}()
}

// TestVCSAgentEndlessAnswerHeaders: an agent that answers with headers that never
// end gets the request failed once a bounded number of bytes was read (not the
// 64 MiB it offers).
func TestVCSAgentEndlessAnswerHeaders(t *testing.T) {
	t.Parallel()
	al := newAgentLoop(t, 100*time.Millisecond)
	var written atomic.Int64
	fakeAgent(t, al.loop.inst.URL, al.token, func(stream net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(stream)); err != nil {
			return
		}
		if _, err := io.WriteString(stream, "HTTP/1.1 200 OK\r\n"); err != nil {
			return
		}
		line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
		for written.Load() < 64<<20 { // far past any cap, but not forever
			n, err := io.WriteString(stream, line)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	al.connected(1)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://bitbucket.corp.example/rest/api/latest/projects", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := al.hub.Transport(store.Integration{}, "corp").RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("an answer with endless headers was taken: %d %v", resp.StatusCode, len(resp.Header))
	}
	if !strings.Contains(err.Error(), "headers are longer than") {
		t.Fatalf("error: %v", err)
	}
	if w := written.Load(); w >= 64<<20 {
		t.Fatalf("the server read all the %d bytes the agent wrote", w)
	}
}

// TestVCSAgentOldTokensDoNotLockOutTheAddress: pods behind one address (a NAT)
// still running with a revoked token use up that token's allowance of failures,
// not the address's: an agent with a current token from the same address
// connects.
func TestVCSAgentOldTokensDoNotLockOutTheAddress(t *testing.T) {
	t.Parallel()
	al := newAgentLoop(t, 100*time.Millisecond)
	c := al.loop.c
	old := c.must(http.MethodPost, poolsPath+"/"+al.poolID+"/tokens", map[string]any{"description": "old"}, http.StatusCreated)
	c.must(http.MethodDelete, poolsPath+"/"+al.poolID+"/tokens/"+str(old, "id"), nil, http.StatusNoContent)
	stale := startAgent(t, al.loop.inst.URL, al.loop.sb.URL, str(old, "token"), "stale", al.agentLogs)
	eventually(t, "the old token rate limited", func() (bool, string) {
		n := metricFloat(t, c, `orbit_vcs_agent_handshakes_total{outcome="rate_limited"}`)
		return n > 0, fmt.Sprintf("%v rate limited", n)
	})
	if stale.Connected() {
		t.Fatal("a revoked token connected")
	}
	current := al.start("current")
	al.connected(1)
	// At its first attempt: no 429 on the way.
	rec := httptest.NewRecorder()
	current.HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if m := rec.Body.String(); strings.Contains(m, `orbit_vcs_agent_connects_total{outcome="failed"}`) ||
		!strings.Contains(m, `orbit_vcs_agent_connects_total{outcome="connected"} 1`) {
		t.Fatalf("the current token's agent did not connect at once:\n%s", m)
	}
}

// TestVCSAgentRevokeCutsOffAtOnce: revoking a token ends the sessions of the
// agents that connected with it at once (not at the next periodic check), and
// leaves the pool's other agents connected; deleting the pool ends them all.
func TestVCSAgentRevokeCutsOffAtOnce(t *testing.T) {
	t.Parallel()
	al := newAgentLoop(t, 100*time.Millisecond)
	c := al.loop.c
	other := c.must(http.MethodPost, poolsPath+"/"+al.poolID+"/tokens", map[string]any{"description": "other"}, http.StatusCreated)
	kept := al.start("kept")
	revoked := startAgent(t, al.loop.inst.URL, al.loop.sb.URL, str(other, "token"), "revoked", al.agentLogs)
	al.connected(2)
	c.must(http.MethodDelete, poolsPath+"/"+al.poolID+"/tokens/"+str(other, "id"), nil, http.StatusNoContent)
	testwait.For(t, 30*time.Second, "the revoked token's agent cut off", func() bool { return !revoked.Connected() })
	al.connected(1)
	if !kept.Connected() || al.hub.Agents(al.poolID)[0].Name != "kept" {
		t.Fatalf("the other token's agent: connected %v, agents %+v", kept.Connected(), al.hub.Agents(al.poolID))
	}
	c.must(http.MethodDelete, poolsPath+"/"+al.poolID, nil, http.StatusNoContent)
	testwait.For(t, 30*time.Second, "the deleted pool's agent cut off", func() bool { return !kept.Connected() })
	al.connected(0)
}
