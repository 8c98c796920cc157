package vcsagent

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what an agent needs.
type Config struct {
	// OrbitURL is orbit-server's base URL; the agent connects to OrbitURL +
	// ConnectPath. It must be https:// (the handshake carries the pool token)
	// unless its host is a loopback address or InsecureOrbitURLAllowHTTP is set.
	OrbitURL string
	// InsecureOrbitURLAllowHTTP accepts an http:// OrbitURL to any host: the pool
	// token then crosses the network in clear text.
	InsecureOrbitURLAllowHTTP bool
	// BitbucketURL is the Bitbucket Data Center base URL the agent serves, with any
	// context path: the only origin and path it sends requests to.
	BitbucketURL string
	// Token is the pool token. It goes only into the handshake's Authorization header.
	Token string
	// Name is shown in orbit-server's list of connected agents (default: host name).
	Name string
	// Version is the agent's build version, sent in the handshake.
	Version string
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// OrbitTLS is the TLS configuration of the connection to orbit-server (nil: the
	// system's roots).
	OrbitTLS *tls.Config
	// BitbucketTransport sends the requests to Bitbucket (nil: a clone of
	// http.DefaultTransport without proxy settings).
	BitbucketTransport http.RoundTripper
	// RequestTimeout bounds one request to Bitbucket, answer included (0: 2 min).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between connection attempts; each
	// failure doubles it, with jitter (0: 1s and 1 min).
	MinBackoff, MaxBackoff time.Duration
	// MaxStreams bounds the requests served at once (0: 64); beyond it a request
	// is accepted and waits for a slot.
	MaxStreams int
}

// Agent is one VCS agent: Run keeps it connected to orbit-server.
type Agent struct {
	cfg       Config
	bitbucket *url.URL
	connect   *url.URL
	log       *slog.Logger
	client    *http.Client
	slots     chan struct{}

	connected atomic.Bool
	mu        sync.Mutex
	session   *yamux.Session

	registry *prometheus.Registry
	up       prometheus.Gauge
	waiting  prometheus.Gauge
	requests *prometheus.CounterVec
	connects *prometheus.CounterVec
}

// New checks cfg and builds an agent.
func New(cfg Config) (*Agent, error) {
	bb, err := ParseBitbucketURL(cfg.BitbucketURL)
	if err != nil {
		return nil, err
	}
	orbit, err := url.Parse(strings.TrimRight(strings.TrimSpace(cfg.OrbitURL), "/"))
	if err != nil {
		return nil, fmt.Errorf("orbit URL: %w", urlCause(err))
	}
	if (orbit.Scheme != "https" && orbit.Scheme != "http") || orbit.Host == "" || orbit.User != nil || orbit.RawQuery != "" {
		return nil, fmt.Errorf("orbit URL %q: want an absolute http:// or https:// URL without user info or query", orbit.Redacted())
	}
	if orbit.Scheme == "http" && !isLoopback(orbit.Hostname()) && !cfg.InsecureOrbitURLAllowHTTP {
		return nil, fmt.Errorf("orbit URL %q: http:// would send the pool token in clear text; use https:// (http:// is accepted only for a loopback host, or with --insecure-orbit-url-allow-http)", orbit.Redacted())
	}
	orbit.Path += ConnectPath
	if cfg.Token == "" {
		return nil, errors.New("no pool token: set ORBIT_VCS_AGENT_TOKEN or --token-file")
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, errors.New("the pool token contains white space")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 64
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if orbit.Scheme == "http" && !isLoopback(orbit.Hostname()) {
		log.Warn("vcs agent: INSECURE: --orbit-url is http:// to another host; the pool token crosses the network in clear text", "orbit_url", orbit.Scheme+"://"+orbit.Host)
	}
	transport := cfg.BitbucketTransport
	if transport == nil {
		transport = BitbucketTransport(nil)
	}
	a := &Agent{cfg: cfg, bitbucket: bb, connect: orbit, log: log, slots: make(chan struct{}, cfg.MaxStreams),
		client: &http.Client{Transport: transport,
			// A redirect goes back to orbit-server as it came; the agent never follows one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		registry: prometheus.NewRegistry(),
		up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "orbit_vcs_agent_connected",
			Help: "1 while the agent holds a session with orbit-server, 0 otherwise."}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "orbit_vcs_agent_requests_waiting",
			Help: "Requests from orbit-server waiting for one of the agent's slots (64 served at once)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_vcs_agent_requests_total",
			Help: "Requests orbit-server sent through the agent, by outcome: answered (Bitbucket answered, any status), refused (not for the agent's Bitbucket URL), failed (Bitbucket could not be reached), broken (the request or answer could not be relayed)."},
			[]string{"outcome"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "orbit_vcs_agent_connects_total",
			Help: "Connection attempts to orbit-server, by outcome: connected, refused (the token was not accepted), failed."},
			[]string{"outcome"}),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "orbit_vcs_agent_build_info", Help: "Always 1; the version label says which build runs."}, []string{"version"})
	info.WithLabelValues(cfg.Version).Set(1)
	a.registry.MustRegister(a.up, a.waiting, a.requests, a.connects, info)
	return a, nil
}

// isLoopback reports whether host (a URL's host name) is this machine: localhost
// or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BitbucketTransport is the agent's transport to Bitbucket: http.DefaultTransport's
// settings without a proxy from the environment, and tlsConfig (nil: the system's
// roots).
func BitbucketTransport(tlsConfig *tls.Config) *http.Transport {
	tr := &http.Transport{}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone()
	}
	tr.Proxy = nil
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig
	}
	return tr
}

// Connected reports whether the agent holds a session with orbit-server now.
func (a *Agent) Connected() bool { return a.connected.Load() }

// HealthHandler serves /healthz (the process runs), /readyz (connected to
// orbit-server, 503 otherwise) and /metrics (Prometheus).
func (a *Agent) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.Connected() {
			http.Error(w, "not connected to orbit-server", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "connected\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	return mux
}

// RefusedTokenError is a handshake orbit-server answered 401 or 403: the pool token
// is wrong, revoked or expired. It never holds the token.
type RefusedTokenError struct{ Status int }

func (e *RefusedTokenError) Error() string {
	return fmt.Sprintf("orbit-server refused the pool token (HTTP %d): check that it is current and not revoked", e.Status)
}

// Run connects to orbit-server and serves its requests until ctx is done,
// reconnecting with jittered exponential backoff after every failure or lost session.
func (a *Agent) Run(ctx context.Context) error {
	wait := a.cfg.MinBackoff
	for {
		started := time.Now()
		err := a.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // stopped on purpose
		}
		if time.Since(started) > a.cfg.MaxBackoff {
			wait = a.cfg.MinBackoff // the session lived: start over
		}
		// Jitter: a random wait in [wait/2, wait], so that agents cut off together
		// do not come back together.
		sleep := wait/2 + rand.N(wait/2+1)
		a.log.Warn("vcs agent: not connected to orbit-server; retrying", "error", err.Error(), "retry_in", sleep.Round(time.Millisecond).String())
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		wait = min(2*wait, a.cfg.MaxBackoff)
	}
}

// Disconnect drops the current session (tests: a network cut); Run reconnects.
func (a *Agent) Disconnect() {
	a.mu.Lock()
	s := a.session
	a.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

// serveOnce makes one connection and serves it until it ends.
func (a *Agent) serveOnce(ctx context.Context) error {
	conn, err := a.dial(ctx)
	if err != nil {
		var refused *RefusedTokenError
		if errors.As(err, &refused) {
			a.connects.WithLabelValues("refused").Inc()
		} else {
			a.connects.WithLabelValues("failed").Inc()
		}
		return err
	}
	session, err := yamux.Server(conn, SessionConfig(slogWriter{a.log}))
	if err != nil {
		conn.Close()
		a.connects.WithLabelValues("failed").Inc()
		return err
	}
	a.connects.WithLabelValues("connected").Inc()
	a.mu.Lock()
	a.session = session
	a.mu.Unlock()
	a.connected.Store(true)
	a.up.Set(1)
	a.log.Info("vcs agent: connected to orbit-server", "orbit_url", a.connect.Scheme+"://"+a.connect.Host, "bitbucket_url", a.bitbucket.String())
	defer func() {
		a.connected.Store(false)
		a.up.Set(0)
		a.mu.Lock()
		a.session = nil
		a.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { _ = session.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		stream, err := session.AcceptStream()
		if err != nil {
			_ = session.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("session with orbit-server ended: %w", err)
		}
		// Accepted at once, whatever the load: orbit-server's yamux ends the whole
		// session when a stream it opens is not accepted within StreamOpenTimeout.
		// The request waits for one of MaxStreams slots in its own goroutine.
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.waiting.Inc()
			select {
			case a.slots <- struct{}{}:
				a.waiting.Dec()
			case <-session.CloseChan():
				a.waiting.Dec()
				stream.Close()
				return
			}
			defer func() { <-a.slots }()
			a.serveStream(ctx, stream)
		}()
	}
}

// dial opens the connection and makes the handshake; the connection it returns
// carries the session.
func (a *Agent) dial(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	host := a.connect.Host
	if a.connect.Port() == "" {
		if a.connect.Scheme == "https" {
			host = net.JoinHostPort(a.connect.Hostname(), "443")
		} else {
			host = net.JoinHostPort(a.connect.Hostname(), "80")
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("connect to orbit-server: %w", err)
	}
	if a.connect.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if a.cfg.OrbitTLS != nil {
			cfg = a.cfg.OrbitTLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = a.connect.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"} // an upgrade is HTTP/1.1 only
		tconn := tls.Client(conn, cfg)
		if err := tconn.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with orbit-server: %w", err)
		}
		conn = tconn
	}
	if deadline, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, a.connect.String(), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", UpgradeProtocol)
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set(VersionHeader, a.cfg.Version)
	req.Header.Set(BitbucketURLHeader, a.bitbucket.String())
	req.Header.Set(NameHeader, a.name())
	req.Header.Set("User-Agent", "orbit-vcs-agent/"+a.cfg.Version)
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with orbit-server: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with orbit-server: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return nil, &RefusedTokenError{Status: resp.StatusCode}
		}
		return nil, fmt.Errorf("orbit-server did not take the connection: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(strings.ToValidUTF8(string(body), "")))
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), UpgradeProtocol) {
		conn.Close()
		return nil, fmt.Errorf("orbit-server switched to %q, not %s", resp.Header.Get("Upgrade"), UpgradeProtocol)
	}
	_ = conn.SetDeadline(time.Time{})
	return &bufferedConn{Conn: conn, r: br}, nil
}

func (a *Agent) name() string {
	if a.cfg.Name != "" {
		return a.cfg.Name
	}
	if h, err := osHostname(); err == nil {
		return h
	}
	return "orbit-vcs-agent"
}

// hopHeaders are the hop-by-hop headers a relay drops (RFC 9110, 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// serveStream relays one request: read it, check it, send it to Bitbucket, stream
// the answer back.
func (a *Agent) serveStream(ctx context.Context, stream net.Conn) {
	defer stream.Close()
	_ = stream.SetReadDeadline(time.Now().Add(30 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(stream))
	if err != nil {
		a.requests.WithLabelValues("broken").Inc()
		a.log.Warn("vcs agent: unreadable request from orbit-server", "error", err.Error())
		return
	}
	_ = stream.SetReadDeadline(time.Time{})
	target, err := url.Parse(req.RequestURI)
	if err != nil {
		target = nil
	}
	reason := Allowed(a.bitbucket, target)
	if reason == "" && !AllowedMethod(req.Method) {
		reason = fmt.Sprintf("method %q is not one of Bitbucket's API", truncateMethod(req.Method))
	}
	if reason != "" {
		a.requests.WithLabelValues("refused").Inc()
		a.log.Warn("vcs agent: refused a request that is not for its Bitbucket URL", "method", truncateMethod(req.Method), "host", hostOf(target), "reason", reason)
		a.answerItself(stream, http.StatusForbidden, "refused", "orbit-vcs-agent serves only "+a.bitbucket.String()+": "+reason)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
	defer cancel()
	out := req.Clone(rctx)
	out.RequestURI = ""
	out.URL = target
	out.Host = target.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	started := time.Now()
	resp, err := a.client.Do(out)
	if err != nil {
		a.requests.WithLabelValues("failed").Inc()
		a.log.Warn("vcs agent: Bitbucket could not be reached", "method", req.Method, "path", target.Path, "error", redactURL(err).Error())
		a.answerItself(stream, http.StatusBadGateway, "unreachable", "orbit-vcs-agent could not reach "+a.bitbucket.Host+": "+redactURL(err).Error())
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	// Only the agent's own answers carry it: Bitbucket (or whatever answers at its
	// address) must not pass for the agent refusing.
	resp.Header.Del(RefusedHeader)
	resp.TransferEncoding = nil
	if err := resp.Write(stream); err != nil {
		a.requests.WithLabelValues("broken").Inc()
		a.log.Warn("vcs agent: the answer could not be relayed to orbit-server", "method", req.Method, "path", target.Path, "error", err.Error())
		return
	}
	a.requests.WithLabelValues("answered").Inc()
	a.log.Debug("vcs agent: relayed", "method", req.Method, "path", target.Path, "status", resp.StatusCode, "elapsed", time.Since(started).String())
}

// truncateMethod keeps a method short enough to quote.
func truncateMethod(m string) string {
	if len(m) > 16 {
		return m[:16] + "..."
	}
	return m
}

// answerItself writes the agent's own answer (not Bitbucket's), marked with
// RefusedHeader so orbit-server never takes it for Bitbucket's.
func (a *Agent) answerItself(w io.Writer, status int, reason, msg string) {
	resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		ContentLength: int64(len(msg)), Body: io.NopCloser(strings.NewReader(msg))}
	resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp.Header.Set(RefusedHeader, reason)
	_ = resp.Write(w)
}

// redactURL keeps a *url.Error's operation and cause but not its URL's query (the
// request's URL carries no secret, but a query is the caller's business).
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}

// bufferedConn reads what the handshake's reader buffered before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// slogWriter turns yamux's log lines into warnings.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn("vcs agent: session", "yamux", strings.TrimSpace(string(p)))
	return len(p), nil
}
