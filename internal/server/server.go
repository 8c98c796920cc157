// Package server is orbit-server's composition root: Config, New, Run and the
// graceful shutdown. It opens the store and the secrets, and wires the parts, each
// a package of its own (ARCHITECTURE.md): api (the management API), auth, receiver
// (the public webhook endpoint), worker (the queue: dispatch and commit statuses),
// secrets, and vcs with its kinds. It holds no handler. It may import every part;
// only cmd/orbit-server and tests import it.
package server

import (
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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/agenthub"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/api"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/receiver"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/retention"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/runpage"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	_ "github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs/bitbucketcloud" // registers the kind
	_ "github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs/bitbucketdc"    // registers the kind
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/worker"
)

// Config is everything orbit-server needs; cmd/orbit-server fills it from flags and env.
type Config struct {
	// Listen is the TCP address Run listens on, e.g. "127.0.0.1:8700".
	Listen string
	// DB is the SQLite file path, or a postgres:// (postgresql://) URL.
	DB string
	// PublicURL is the externally reachable base URL; webhook URLs derive from it.
	PublicURL string
	// SecretKey is the 32-byte AES-256-GCM key sealing credentials and webhook secrets.
	SecretKey []byte
	// SecretKeyFile, used when SecretKey is nil, holds the key (base64). It is created
	// with a new key only while the database holds no sealed data.
	SecretKeyFile string
	// BootstrapKey, when set, becomes the admin key of an empty database instead of a
	// generated one. It must be in the API key format (see ParseAPIKey).
	BootstrapKey string
	// Logger receives JSON request logs; nil discards them.
	Logger *slog.Logger
	// BootstrapOut receives the generated admin key on first start; nil = os.Stderr.
	BootstrapOut io.Writer
	// CredentialChecker verifies integration credentials against Bitbucket; nil = no check.
	CredentialChecker CredentialChecker
	// WebhookSecretGrace is how long a rotated-out webhook secret still verifies
	// deliveries; 0 means DefaultWebhookSecretGrace, a negative value none. The
	// integration's answer shows when it ends (previous_webhook_secret_expires_at).
	WebhookSecretGrace time.Duration
	// Now is the receiver's clock for that window; nil is time.Now (tests move it).
	Now func() time.Time
	// WebhookMaxBody bounds a webhook delivery's body; 0 means
	// DefaultWebhookMaxBody (4 MiB: a signed Data Center push of 3,001 refs fits).
	WebhookMaxBody int64
	// WebhookReadSlots bounds how many webhook bodies over 64 KiB (or of
	// undeclared length) are read at once, before their signature is known (beyond
	// it, 503 with Retry-After); 0 means 4 per CPU, at least 8. Up to 256 smaller
	// ones are read besides. Memory spent on unauthenticated bodies is at most
	// WebhookReadSlots × WebhookMaxBody + 16 MiB.
	WebhookReadSlots int
	// WebhookFailureBurst unsigned or wrongly signed deliveries (or ones to an
	// unknown integration) from one client address are answered 401/404; beyond
	// them 429, without reading the body, until WebhookFailureInterval per failure
	// has passed (0: 20 and 1s).
	WebhookFailureBurst    int
	WebhookFailureInterval time.Duration
	// QueueLease and QueuePollInterval tune the job queue (0: the defaults).
	QueueLease        time.Duration
	QueuePollInterval time.Duration
	// PauseQueue accepts and stores deliveries but runs no worker (tests that stop a
	// server between the acknowledgement and the processing).
	PauseQueue bool
	// BitbucketCloudAPIURL is where Cloud commit statuses go; empty means
	// https://api.bitbucket.org (a sandbox URL in tests and demos). Data Center
	// statuses go to each integration's api_host.
	BitbucketCloudAPIURL string
	// StatusHTTPClient, when set, sends commit statuses (e.g. to trust a test
	// certificate). It bypasses Egress at dial time (only the host is checked first).
	StatusHTTPClient *http.Client
	// Egress limits where Data Center commit statuses (to the caller-chosen api_host)
	// may connect; nil is egress.Default(). cmd/orbit-server gives the checker the
	// same policy (--bitbucket-allowed-hosts).
	Egress *egress.Policy
	// MaxSpaces bounds the number of spaces besides root; 0 means DefaultMaxSpaces.
	MaxSpaces int
	// MaxSpaceDepth bounds how many levels below root a space may sit; 0 means
	// DefaultMaxSpaceDepth.
	MaxSpaceDepth int
	// MaxLabels bounds the labels of one object and the label filters of one list;
	// 0 means DefaultMaxLabels.
	MaxLabels int
	// AuthFailureBurst failed authentications from one client address are answered
	// 401; beyond them, 429 until AuthFailureInterval per failure has passed (0: the
	// defaults).
	AuthFailureBurst    int
	AuthFailureInterval time.Duration
	// TrustedProxies are the load balancers and reverse proxies in front of
	// orbit-server (see ParseTrustedProxies). A request whose peer is one of them
	// counts as coming from the client its X-Forwarded-For names (see clientAddress),
	// for the failed-authentication limit and the access log; empty means every
	// request comes from its peer and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix
	// ShutdownDelay is how long /readyz answers 503 after the shutdown signal before
	// the listener closes, so load balancers stop sending first; 0 means
	// DefaultShutdownDelay, a negative value none.
	ShutdownDelay time.Duration
	// DrainTimeout bounds the wait for in-flight requests once the listener is
	// closed; those still running then are dropped and logged. 0 means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// DeliveryBodyRetention, DeliveryRetention and RunRetention are how long a
	// dispatched delivery keeps its body, how long its row is kept (the replay
	// window), and how long a finished run is kept; 0 means the default
	// (retention.DefaultBodies, DefaultDeliveries, DefaultRuns), a negative value
	// for ever. RetentionInterval is the pause between pruning rounds (0: a minute).
	DeliveryBodyRetention time.Duration
	DeliveryRetention     time.Duration
	RunRetention          time.Duration
	RetentionInterval     time.Duration
	// SkipMigrations, when set, makes New refuse a database whose schema is behind
	// instead of migrating it (`orbit-server migrate` does it). A schema newer than
	// this build is refused either way.
	SkipMigrations bool
	// VCSAgentAuthenticator checks the pool tokens of connecting VCS agents
	// (internal/server/agenthub); nil: the pool tokens of the store
	// (pooltoken.NewAuthenticator).
	VCSAgentAuthenticator agenthub.Authenticator
	// VCSAgentWait is how long a commit status of a private://<pool> integration
	// waits, when no agent of the pool is connected, before it looks again (0:
	// worker.DefaultAgentWait).
	VCSAgentWait time.Duration
}

// retentionConfig is the Config's retention with its defaults applied.
func (cfg Config) retentionConfig() retention.Config {
	window := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0 // for ever
		}
		return v
	}
	return retention.Config{
		Bodies:     window(cfg.DeliveryBodyRetention, retention.DefaultBodies),
		Deliveries: window(cfg.DeliveryRetention, retention.DefaultDeliveries),
		Runs:       window(cfg.RunRetention, retention.DefaultRuns),
		Interval:   cfg.RetentionInterval,
	}
}

// orDefault is v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Server is one orbit-server instance bound to an open store.
type Server struct {
	store     store.Store
	publicURL string
	logger    *slog.Logger
	handler   http.Handler
	draining  atomic.Bool
	inflight  httpx.Inflight
	// shutdownDelay and drainTimeout: see Config.
	shutdownDelay time.Duration
	drainTimeout  time.Duration
	// endDelay, when closed (tests), ends the shutdown delay early.
	endDelay chan struct{}

	api       *api.API
	receiver  *receiver.Receiver
	worker    *worker.Worker
	pruner    *retention.Pruner
	agents    *agenthub.Hub
	closeOnce sync.Once
}

// New opens the store, applies migrations (done by the store), bootstraps the first
// admin key when the database has none, and builds the HTTP handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	publicURL, err := normalizePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.SecretKey != nil {
		if _, err := secretbox.New(cfg.SecretKey); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
	}
	if cfg.BootstrapKey != "" {
		if _, _, err := auth.ParseAPIKey(cfg.BootstrapKey); err != nil {
			return nil, fmt.Errorf("bootstrap key: %w (expected orbit_<id>_<43 base64url chars>)", err)
		}
	}
	for _, q := range []struct {
		name  string
		value int
	}{{"MaxSpaces", cfg.MaxSpaces}, {"MaxSpaceDepth", cfg.MaxSpaceDepth}, {"MaxLabels", cfg.MaxLabels},
		{"WebhookReadSlots", cfg.WebhookReadSlots}, {"WebhookFailureBurst", cfg.WebhookFailureBurst}, {"WebhookMaxBody", int(min(cfg.WebhookMaxBody, 1<<40))}} {
		if q.value < 0 {
			return nil, fmt.Errorf("%s must not be negative", q.name)
		}
	}
	keep := cfg.retentionConfig()
	if err := keep.Validate(); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.DB, !cfg.SkipMigrations)
	if err != nil {
		return nil, err
	}
	box, err := secrets.Open(ctx, st, cfg.SecretKey, cfg.SecretKeyFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.SetQuotas(store.Quotas{
		MaxSpaces:     orDefault(cfg.MaxSpaces, DefaultMaxSpaces),
		MaxSpaceDepth: orDefault(cfg.MaxSpaceDepth, DefaultMaxSpaceDepth),
	})
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: st, publicURL: publicURL, logger: logger, endDelay: make(chan struct{})}
	s.shutdownDelay = cfg.ShutdownDelay
	if s.shutdownDelay == 0 {
		s.shutdownDelay = DefaultShutdownDelay
	}
	s.drainTimeout = cfg.DrainTimeout
	if s.drainTimeout <= 0 {
		s.drainTimeout = DefaultDrainTimeout
	}
	grace := cfg.WebhookSecretGrace
	if grace == 0 {
		grace = DefaultWebhookSecretGrace
	}
	out := cfg.BootstrapOut
	if out == nil {
		out = os.Stderr
	}
	if err := auth.Bootstrap(ctx, st, logger, cfg.BootstrapKey, out); err != nil {
		st.Close()
		return nil, err
	}
	m := metrics.New()
	var trusted []netip.Prefix
	for _, p := range cfg.TrustedProxies {
		trusted = append(trusted, httpx.NormalizeProxyPrefix(p))
	}
	pages := runpage.New(runpage.Config{Store: st, Box: box, PublicURL: publicURL, TrustedProxies: trusted, Logger: logger})
	agentAuth := cfg.VCSAgentAuthenticator
	if agentAuth == nil {
		agentAuth = pooltoken.NewAuthenticator(st, nil)
	}
	s.agents = agenthub.New(agenthub.Config{Auth: agentAuth, Logger: logger, Registerer: m, TrustedProxies: trusted})
	env := statusEnv(cfg)
	env.Agents = s.agents
	s.worker = worker.New(st, box, worker.Config{Lease: cfg.QueueLease, Poll: cfg.QueuePollInterval,
		PublicURL: publicURL, Status: env, Logger: logger, Metrics: m, RunLink: pages.StatusURL, RunLinks: pages.AddLinks,
		AgentWait: cfg.VCSAgentWait})
	s.receiver = receiver.New(st, box, m, receiver.Config{Grace: grace, Now: cfg.Now, MaxBody: cfg.WebhookMaxBody,
		ReadSlots: cfg.WebhookReadSlots, FailureBurst: cfg.WebhookFailureBurst,
		FailureInterval: cfg.WebhookFailureInterval, TrustedProxies: trusted},
		func() { s.worker.Wake(store.JobDelivery) })
	s.worker.SetBusy(s.receiver.Busy)
	var checker vcs.CredentialChecker
	if cfg.CredentialChecker != nil {
		checker = cfg.CredentialChecker
		// The checker reaches private://<pool> hosts through this server's agents.
		if bc, ok := checker.(*vcs.BitbucketChecker); ok && bc.Agents == nil {
			bc.Agents = s.agents
		}
	}
	s.api = api.New(api.Config{
		Store: st, Box: box, PublicURL: publicURL, Logger: logger, Checker: checker, Metrics: m,
		MaxLabels:      orDefault(cfg.MaxLabels, DefaultMaxLabels),
		AuthLimit:      auth.NewLimiter(cfg.AuthFailureBurst, cfg.AuthFailureInterval),
		TrustedProxies: trusted, Inflight: &s.inflight, Draining: &s.draining,
		Targets: s.receiver, Queue: s.worker, RunPages: pages, WebhookSecretGrace: grace, Agents: s.agents,
		PublicRoutes: append(append(s.receiver.Routes(), pages.Routes()...), s.agents.Routes()...),
	})
	s.handler = s.api.Handler()
	m.SetQueueStats(st.QueueStats)
	keep.Logger, keep.Metrics = logger, m
	s.pruner = retention.New(st, keep)
	if !cfg.PauseQueue {
		s.worker.Start()
		s.pruner.Start()
	}
	return s, nil
}

// statusEnv is what the kinds post commit statuses with. Cloud statuses go to the
// operator's URL; Data Center ones to api_host, which the integration's admin chose,
// so they dial through the policy.
func statusEnv(cfg Config) vcs.StatusEnv {
	env := vcs.StatusEnv{CloudAPIURL: cfg.BitbucketCloudAPIURL, Egress: cfg.Egress}
	if env.CloudAPIURL == "" {
		env.CloudAPIURL = bitbucket.DefaultCloudBaseURL
	}
	if env.Egress == nil {
		env.Egress = egress.Default()
	}
	if cfg.StatusHTTPClient != nil {
		env.OperatorClient, env.CallerClient = cfg.StatusHTTPClient, cfg.StatusHTTPClient
	} else {
		env.OperatorClient = &http.Client{Transport: egress.Default().Transport(nil)}
		env.CallerClient = &http.Client{Transport: env.Egress.Transport(nil)}
	}
	return env
}

func normalizePublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("public URL %q: must be an absolute http(s) URL without query, fragment or user info", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Handler is the whole HTTP surface: /api/v1, /healthz, /readyz, /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the receiver's committer and the queue workers, then releases the
// store. The handler must not be used afterwards. Jobs in progress are abandoned:
// their leases run out and the next start (or another replica) takes them again.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.agents.Close()
		s.receiver.Close()
		s.worker.Stop()
		s.pruner.Stop()
		err = s.store.Close()
	})
	return err
}

// Run serves cfg.Listen until ctx is done, then drains: /readyz answers 503 and
// in-flight requests get up to ShutdownTimeout to finish.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	httpServer := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.logger.Info("orbit-server listening", "addr", ln.Addr().String(), "public_url", s.publicURL)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Draining: /readyz answers 503 while the listener stays open for the shutdown
	// delay, so load balancers take the instance out before connections are refused.
	s.draining.Store(true)
	s.logger.Info("orbit-server draining: /readyz answers 503", "shutdown_delay", s.shutdownDelay.String())
	if s.shutdownDelay > 0 {
		timer := time.NewTimer(s.shutdownDelay)
		select {
		case <-timer.C:
		case <-s.endDelay:
			timer.Stop()
		}
	}
	s.logger.Info("orbit-server closing the listener", "drain_timeout", s.drainTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.drainTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		// The drain timed out: what is still running is dropped, and said so. This is
		// still an orderly stop (exit 0): every acknowledged write was committed.
		dropped := s.inflight.Snapshot()
		s.logger.Warn("drain timed out; dropping in-flight requests", "dropped", len(dropped), "requests", dropped, "error", err.Error())
		_ = httpServer.Close()
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Warn("serve after the drain timeout", "error", err.Error())
		}
		return nil
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.logger.Info("orbit-server stopped")
	return nil
}

// VCSAgents is the hub of the VCS agents connected to this server (their sessions,
// per pool).
func (s *Server) VCSAgents() *agenthub.Hub { return s.agents }

// SetDraining makes /readyz answer 503 (used by Serve on shutdown, and by tests).
func (s *Server) SetDraining(draining bool) { s.draining.Store(draining) }
