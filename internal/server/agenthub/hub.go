// Package agenthub is orbit-server's end of the VCS agents' tunnels
// (internal/vcsagent has the protocol and the agent): the public route agents
// connect to (bounded before the pool token is checked), the sessions of the
// connected agents by pool, and each pool's http.RoundTripper, which sends a
// Bitbucket request through a live agent of the pool (vcs.Agents). It may import
// vcsagent, httpguard, httpx, vcs, store and the Prometheus client.
//
// Agents are connected to one replica each: a replica sends requests only through
// its own agents, and a request for a pool none of whose agents is connected here
// fails with *vcs.NoAgentError (a status job is retried, by any replica). The
// operator runs at least as many agents per pool as replicas behind the load
// balancer, or points agents at each replica's own address (OPERATIONS.md).
package agenthub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
)

// PoolIdentity, ErrBadAgentToken and Authenticator are the pool tokens' (package
// pooltoken): the hub only asks.
type (
	PoolIdentity  = pooltoken.PoolIdentity
	Authenticator = pooltoken.AgentAuthenticator
)

// ErrBadAgentToken is pooltoken.ErrBadAgentToken.
var ErrBadAgentToken = pooltoken.ErrBadAgentToken

// ConnectedAgent is one agent connected to this replica.
type ConnectedAgent struct {
	ID           string
	Name         string
	Version      string
	BitbucketURL string
	Since        time.Time
	InFlight     int
}

// AddressFailureFactor is how much larger (burst) and faster (refill) the
// allowance of wrong tokens of one client address, across all token ids, is than
// that of one token id from it.
const AddressFailureFactor = 20

// Config configures a Hub.
type Config struct {
	Auth   Authenticator
	Logger *slog.Logger
	// Registerer receives the hub's metrics (nil: none).
	Registerer interface{ Register(...prometheus.Collector) }
	// TrustedProxies decide a handshake's client address (httpx.ClientAddress).
	TrustedProxies []netip.Prefix
	// MaxHandshakes bounds the handshakes being authenticated at once (0: 16);
	// beyond it, 503 with Retry-After.
	MaxHandshakes int
	// FailureBurst wrong tokens from one client address are answered 401; beyond
	// them 429 until FailureInterval per failure has passed (0: 10 and 6s).
	FailureBurst    int
	FailureInterval time.Duration
	// Replica names this orbit-server in the lists of connected agents (default:
	// the host name).
	Replica string
	// Reauthenticate is how often a connected agent's token is checked again, so
	// that revoking it (or its grace ending) cuts the agent off (0: a minute).
	Reauthenticate time.Duration
}

// Hub holds the agents' sessions.
type Hub struct {
	cfg      Config
	log      *slog.Logger
	refused  *slog.Logger
	gate     *httpguard.Gate
	failures *httpguard.FailureLimiter
	// addressFailures caps what one client address may cost across all token
	// ids (each id has its own allowance in failures): AddressFailureFactor
	// times the burst, refilled that many times faster.
	addressFailures *httpguard.FailureLimiter

	mu     sync.Mutex
	agents map[string][]*agent // by pool id
	closed bool
	seq    atomic.Uint64
	rr     atomic.Uint64

	handshakes *prometheus.CounterVec
	requests   *prometheus.CounterVec
}

type agent struct {
	ConnectedAgent
	token    string // kept to check it again (Reauthenticate); never logged
	pool     PoolIdentity
	base     *url.URL
	session  *yamux.Session
	inflight atomic.Int64
}

// New builds a hub.
func New(cfg Config) *Hub {
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = 16
	}
	if cfg.FailureBurst <= 0 {
		cfg.FailureBurst = 10
	}
	if cfg.FailureInterval <= 0 {
		cfg.FailureInterval = 6 * time.Second
	}
	if cfg.Reauthenticate <= 0 {
		cfg.Reauthenticate = time.Minute
	}
	if cfg.Replica == "" {
		cfg.Replica, _ = os.Hostname()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, log: log, agents: map[string][]*agent{},
		refused:  slog.New(httpguard.NewSampledHandler(log.Handler(), httpguard.Sample{PerInterval: 5, Interval: time.Second})),
		gate:     httpguard.NewGate(cfg.MaxHandshakes),
		failures: httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: cfg.FailureBurst, Interval: cfg.FailureInterval}),
		addressFailures: httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: cfg.FailureBurst * AddressFailureFactor,
			Interval: max(cfg.FailureInterval/AddressFailureFactor, time.Millisecond)}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_vcs_agent_handshakes_total",
			Help: "Connection attempts of VCS agents, by outcome: accepted, bad_token, rate_limited, busy, bad_request, error."}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_vcs_agent_requests_total",
			Help: "Bitbucket requests sent through VCS agents, by pool and outcome: answered (Bitbucket answered), no_agent (none of the pool connected here), refused (the agent refused it), unreachable (the agent could not reach Bitbucket), failed (the tunnel broke)."},
			[]string{"pool", "outcome"}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.Register(h.handshakes, h.requests, &connectedCollector{h: h,
			desc: prometheus.NewDesc("orbit_vcs_agents_connected", "VCS agents connected to this replica, by pool (the pool's name).", []string{"pool"}, nil)})
	}
	return h
}

// Routes is the route agents connect to (public: the pool token authenticates it).
func (h *Hub) Routes() []httpx.Route {
	return []httpx.Route{{Method: http.MethodGet, Path: vcsagent.ConnectPath, Resource: "VCS agent connection", Handle: h.connect}}
}

// connect authenticates an agent and takes its connection over. Before the token
// is known to be good, what a client can cost is bounded: failures per client
// address and token id (429 beyond a burst; failureKey), handshakes at once (503),
// sampled log lines.
func (h *Hub) connect(w http.ResponseWriter, r *http.Request) error {
	client := httpx.ClientAddress(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.cfg.TrustedProxies)
	address := httpguard.ClientKey(client)
	limited := failureKey(address, r.Header.Get("Authorization"))
	if wait := max(h.failures.RetryAfter(limited), h.addressFailures.RetryAfter(address)); wait > 0 {
		h.handshakes.WithLabelValues("rate_limited").Inc()
		seconds := httpguard.SetRetryAfter(w, wait)
		return &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited,
			Message: fmt.Sprintf("too many wrong pool tokens from this address; retry after %ds", seconds)}
	}
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), vcsagent.UpgradeProtocol) {
		h.handshakes.WithLabelValues("bad_request").Inc()
		w.Header().Set("Upgrade", vcsagent.UpgradeProtocol)
		return &httpx.Error{Status: http.StatusUpgradeRequired, Code: httpx.CodeInvalidArgument, Field: "Upgrade",
			Message: "this is the VCS agents' endpoint: connect with orbit-vcs-agent (Upgrade: " + vcsagent.UpgradeProtocol + ")"}
	}
	release, ok := h.gate.TryAcquire()
	if !ok {
		h.handshakes.WithLabelValues("busy").Inc()
		return httpx.Unavailable("too many VCS agents are connecting at once; retry shortly", 2)
	}
	defer release()
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		h.failures.Failed(limited)
		h.addressFailures.Failed(address)
		h.handshakes.WithLabelValues("bad_token").Inc()
		return httpx.Unauthenticated("a pool token is required (Authorization: Bearer)")
	}
	if h.cfg.Auth == nil {
		h.handshakes.WithLabelValues("error").Inc()
		return httpx.Unavailable("this server does not accept VCS agents", 60)
	}
	actx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	pool, err := h.cfg.Auth.AuthenticateAgent(actx, token)
	cancel()
	if errors.Is(err, ErrBadAgentToken) {
		h.failures.Failed(limited)
		h.addressFailures.Failed(address)
		h.handshakes.WithLabelValues("bad_token").Inc()
		h.refused.Warn("vcs agent: pool token refused", "client", client)
		return httpx.Unauthenticated("the pool token is not valid (unknown, revoked or expired)")
	}
	if err != nil {
		h.handshakes.WithLabelValues("error").Inc()
		h.log.Error("vcs agent: authenticating the pool token", "client", client, "error", err.Error())
		return httpx.Unavailable("the pool token could not be checked; retry shortly", 5)
	}
	base, err := vcsagent.ParseBitbucketURL(r.Header.Get(vcsagent.BitbucketURLHeader))
	if err != nil {
		h.handshakes.WithLabelValues("bad_request").Inc()
		return httpx.InvalidArg(vcsagent.BitbucketURLHeader, "the agent must say its Bitbucket URL: %v", err)
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		h.handshakes.WithLabelValues("error").Inc()
		return fmt.Errorf("vcs agent: take the connection over: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+vcsagent.UpgradeProtocol+"\r\n\r\n"); err != nil {
		conn.Close()
		return nil //nolint:nilerr // the agent went away; it reconnects
	}
	c := conn
	if rw.Reader.Buffered() > 0 {
		c = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	session, err := yamux.Client(c, vcsagent.SessionConfig(yamuxLog{h.log}))
	if err != nil {
		conn.Close()
		return nil //nolint:nilerr // the connection is gone; nothing to answer on
	}
	h.handshakes.WithLabelValues("accepted").Inc()
	a := &agent{token: token, pool: pool, base: base, session: session, ConnectedAgent: ConnectedAgent{
		ID: fmt.Sprintf("%s-%d", pool.PoolID, h.seq.Add(1)), Name: truncate(r.Header.Get(vcsagent.NameHeader), 128),
		Version: truncate(r.Header.Get(vcsagent.VersionHeader), 64), BitbucketURL: base.String(), Since: time.Now().UTC()}}
	if !h.add(a) {
		session.Close()
		return nil
	}
	h.log.Info("vcs agent connected", "pool", pool.PoolName, "pool_id", pool.PoolID, "agent", a.ID, "name", a.Name,
		"version", a.Version, "bitbucket_url", a.BitbucketURL, "client", client)
	go h.watch(a)
	return nil
}

// failureKey is what wrong pool tokens are counted against: the client address
// with the token's public id (pooltoken.Parse; none for a header that is no
// token). Pods behind one address (a NAT) that still hold an old token so use up
// only that token's allowance, not the address's: an agent with a good token
// there still connects. A client trying many made-up ids meets the address's
// own, larger allowance (addressFailures), so its lookups stay bounded too.
func failureKey(address, authorization string) string {
	key := address
	token, _ := strings.CutPrefix(authorization, "Bearer ")
	if id, _, err := pooltoken.Parse(token); err == nil {
		key += " " + id
	}
	return key
}

// watch removes a when its session ends, and checks its token again every
// Reauthenticate: a revoked or expired token ends the session.
func (h *Hub) watch(a *agent) {
	ticker := time.NewTicker(h.cfg.Reauthenticate)
	defer ticker.Stop()
	for {
		select {
		case <-a.session.CloseChan():
			h.remove(a)
			h.log.Info("vcs agent disconnected", "pool", a.pool.PoolName, "agent", a.ID, "name", a.Name)
			return
		case <-ticker.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := h.cfg.Auth.AuthenticateAgent(ctx, a.token)
			cancel()
			if errors.Is(err, ErrBadAgentToken) {
				h.log.Warn("vcs agent cut off: its pool token was revoked or expired", "pool", a.pool.PoolName, "agent", a.ID)
				_ = a.session.Close()
			}
		}
	}
}

func (h *Hub) add(a *agent) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.agents[a.pool.PoolID] = append(h.agents[a.pool.PoolID], a)
	return true
}

func (h *Hub) remove(a *agent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := slices.DeleteFunc(h.agents[a.pool.PoolID], func(x *agent) bool { return x == a })
	if len(list) == 0 {
		delete(h.agents, a.pool.PoolID)
	} else {
		h.agents[a.pool.PoolID] = list
	}
}

// Close ends every session (shutdown); agents reconnect to another replica.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var all []*agent
	for _, list := range h.agents {
		all = append(all, list...)
	}
	h.mu.Unlock()
	for _, a := range all {
		_ = a.session.Close()
	}
}

// Disconnect ends the sessions on this replica of poolID's agents that connected
// with the token whose id is tokenID (every one of the pool's when tokenID is
// ""): the token was revoked or the pool deleted. Other replicas cut theirs off
// when they check the token again (Reauthenticate).
func (h *Hub) Disconnect(poolID, tokenID string) {
	h.mu.Lock()
	var cut []*agent
	for _, a := range h.agents[poolID] {
		if id, _, err := pooltoken.Parse(a.token); tokenID == "" || err == nil && id == tokenID {
			cut = append(cut, a)
		}
	}
	h.mu.Unlock()
	for _, a := range cut {
		h.log.Info("vcs agent cut off: its pool token was revoked or its pool deleted", "pool", a.pool.PoolName, "agent", a.ID)
		_ = a.session.Close()
	}
}

// Agents lists the agents of poolID connected to this replica, oldest first.
func (h *Hub) Agents(poolID string) []ConnectedAgent {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ConnectedAgent, 0, len(h.agents[poolID]))
	for _, a := range h.agents[poolID] {
		if a.session.IsClosed() {
			continue
		}
		c := a.ConnectedAgent
		c.InFlight = int(a.inflight.Load())
		out = append(out, c)
	}
	return out
}

// ConnectedAgents implements pooltoken.AgentDirectory: the agents of poolID
// connected to this replica (each replica knows only its own).
func (h *Hub) ConnectedAgents(poolID string) []apiwire.ConnectedAgent {
	agents := h.Agents(poolID)
	out := make([]apiwire.ConnectedAgent, 0, len(agents))
	for _, a := range agents {
		out = append(out, apiwire.ConnectedAgent{ID: a.ID, Version: a.Version, ConnectedSince: apiwire.At(a.Since), Replica: h.cfg.Replica})
	}
	return out
}

// candidates are the live agents of the pool named name (pool names are unique
// server-wide, and cannot change), the least loaded first (ties in turn).
func (h *Hub) candidates(name string) []*agent {
	h.mu.Lock()
	var list []*agent
	for _, agents := range h.agents {
		for _, a := range agents {
			if a.pool.PoolName == name && !a.session.IsClosed() {
				list = append(list, a)
			}
		}
	}
	h.mu.Unlock()
	if len(list) > 1 {
		turn := int(h.rr.Add(1) % uint64(len(list)))
		list = append(list[turn:], list[:turn]...)
		slices.SortStableFunc(list, func(a, b *agent) int { return int(a.inflight.Load() - b.inflight.Load()) })
	}
	return list
}

// Transport implements vcs.Agents.
func (h *Hub) Transport(_ store.Integration, pool string) http.RoundTripper {
	return &poolTransport{h: h, pool: pool}
}

type poolTransport struct {
	h    *Hub
	pool string
}

// RoundTrip sends req (addressed to vcs.AgentBaseURL) through an agent of the
// pool, readdressed to that agent's Bitbucket URL. An agent whose session cannot
// open a stream is skipped for the next one: the request was not sent.
func (t *poolTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	for _, a := range t.h.candidates(t.pool) {
		stream, err := a.session.OpenStream()
		if err != nil {
			continue // this agent's session is gone; nothing was sent
		}
		return t.send(req, a, stream) // writing the request closes its body
	}
	closeBody()
	t.h.requests.WithLabelValues(t.pool, "no_agent").Inc()
	return nil, &vcs.NoAgentError{Pool: t.pool}
}

func (t *poolTransport) send(req *http.Request, a *agent, stream *yamux.Stream) (*http.Response, error) {
	ctx := req.Context()
	a.inflight.Add(1)
	done := func() {
		stream.Close()
		a.inflight.Add(-1)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = stream.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
	out := req.Clone(ctx)
	target := *a.base
	target.Path = a.base.Path + req.URL.Path
	target.RawPath = ""
	if req.URL.RawPath != "" {
		target.RawPath = a.base.EscapedPath() + req.URL.RawPath
	}
	target.RawQuery = req.URL.RawQuery
	out.URL = &target
	out.Host = ""
	out.Header.Del("Connection")
	if err := out.WriteProxy(stream); err != nil {
		stop()
		done()
		t.h.requests.WithLabelValues(t.pool, "failed").Inc()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("vcs agent %s of pool %q: sending the request: %w", a.ID, t.pool, err)
	}
	// The status line and headers are read under a cap (an agent, or whatever
	// answers behind it, must not make this replica buffer without end); the body
	// after them is streamed without one.
	head := &headLimit{r: stream, n: maxAnswerHeadBytes}
	resp, err := http.ReadResponse(bufio.NewReader(head), out)
	head.lift()
	if err != nil {
		stop()
		done()
		t.h.requests.WithLabelValues(t.pool, "failed").Inc()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("vcs agent %s of pool %q: reading the answer: %w", a.ID, t.pool, err)
	}
	if reason := resp.Header.Get(vcsagent.RefusedHeader); reason != "" {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		stop()
		done()
		outcome := "refused"
		if reason == "unreachable" {
			outcome = "unreachable"
		}
		t.h.requests.WithLabelValues(t.pool, outcome).Inc()
		return nil, &vcs.AgentError{Pool: t.pool, Reason: reason, Status: resp.StatusCode, Message: strings.ToValidUTF8(strings.TrimSpace(string(msg)), "")}
	}
	t.h.requests.WithLabelValues(t.pool, "answered").Inc()
	resp.Request = req
	var once sync.Once
	resp.Body = &streamBody{ReadCloser: resp.Body, close: func() { once.Do(func() { stop(); done() }) }}
	return resp, nil
}

// maxAnswerHeadBytes caps what is read from an agent's stream before the answer's
// headers are complete (net/http's default MaxResponseHeaderBytes is 10 MiB; a
// Bitbucket answer's headers are a few KiB). It includes the reader's buffer of
// up to 4 KiB read ahead of the body.
const maxAnswerHeadBytes = 1 << 20

var errAnswerHeadTooLong = fmt.Errorf("the answer's headers are longer than %d bytes", maxAnswerHeadBytes)

// headLimit reads r, failing once n bytes were read, until lift.
type headLimit struct {
	r      io.Reader
	n      int64
	lifted atomic.Bool
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.lifted.Load() {
		return l.r.Read(p)
	}
	if l.n <= 0 {
		return 0, errAnswerHeadTooLong
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *headLimit) lift() { l.lifted.Store(true) }

// streamBody ends the stream when the answer is closed.
type streamBody struct {
	io.ReadCloser
	close func()
}

func (b *streamBody) Close() error {
	err := b.ReadCloser.Close()
	b.close()
	return err
}

// connectedCollector reports the connected agents per pool at scrape time.
type connectedCollector struct {
	h    *Hub
	desc *prometheus.Desc
}

func (c *connectedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *connectedCollector) Collect(ch chan<- prometheus.Metric) {
	c.h.mu.Lock()
	counts := map[string]int{}
	for _, list := range c.h.agents {
		for _, a := range list {
			if !a.session.IsClosed() {
				counts[a.pool.PoolName]++
			}
		}
	}
	c.h.mu.Unlock()
	for pool, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), pool)
	}
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type yamuxLog struct{ log *slog.Logger }

func (w yamuxLog) Write(p []byte) (int, error) {
	w.log.Warn("vcs agent session", "yamux", strings.TrimSpace(string(p)))
	return len(p), nil
}
