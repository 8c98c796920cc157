// Command orbit-server runs the Orbit platform API (see internal/server/API.md).
//
//	orbit-server rekey [--db ...]   re-seals every secret with a new key (see rekey.go)
//	orbit-server migrate [--check] [--db ...]   brings the schema up to date (see migrate.go)
//	orbit-server backup --to FILE   online copy of a SQLite database and its key file (backup.go)
//	orbit-server healthcheck        exits 0 when /healthz answers 200 (see healthcheck.go)
//
//	orbit-server [--listen 127.0.0.1:8700] [--db orbit.db|postgres://...] [--public-url URL]
//	             [--bitbucket-cloud-api-url https://api.bitbucket.org] [--check-credentials=true]
//	             [--webhook-secret-grace 24h]
//	             [--max-spaces 10000] [--max-space-depth 16] [--max-labels 50]
//	             [--bitbucket-allowed-hosts bitbucket.example.com,10.0.0.0/8]
//	             [--trusted-proxies 10.0.0.0/24,2001:db8::7]
//	             [--webhook-max-body 4194304] [--webhook-read-slots 0]
//	             [--log-level info] [--log-format json] [--db-file /run/secrets/orbit-db]
//	orbit-server --version
//
// Environment: every flag but --version is also read from ORBIT_<FLAG> (--db is
// ORBIT_DB, --log-level ORBIT_LOG_LEVEL); a flag on the command line wins. The table
// of all of them is in OPERATIONS.md (generated; see config.go). A PostgreSQL
// password belongs in ORBIT_DB, a --db-file or the standard PGPASSWORD/PGPASSFILE,
// never in argv. Besides the flags:
//
//	ORBIT_SECRET_KEY     32-byte key sealing credentials at rest (base64 or hex). When
//	                     unset, a key file next to the database is used, created on
//	                     first start with mode 0600. Required with PostgreSQL.
//	ORBIT_BOOTSTRAP_KEY  admin key to install on an empty database instead of printing
//	                     a generated one. It must be in the API key format
//	                     orbit_k_<id>_<43 chars base64url of 32 random bytes>, e.g. one
//	                     printed by an earlier orbit-server. Replicas starting together
//	                     on one empty database install one first admin key between
//	                     them: a generated key is printed by the replica that
//	                     installed it alone; the others log that another replica did.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/retention"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go watchSignals(sigs, cancel, func() {
		fmt.Fprintln(os.Stderr, "orbit-server: second signal: exiting now, without draining")
		os.Exit(1)
	})
	if len(os.Args) > 1 && os.Args[1] == "rekey" {
		os.Exit(rekey(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		os.Exit(migrate(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "backup" {
		os.Exit(backup(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	cfg, err := configFromArgs(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, errVersionPrinted) || errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "orbit-server:", err)
		os.Exit(2)
	}
	cfg.Logger.Info("orbit-server starting", "version", version.Get(), "commit", version.Commit, "go", runtime.Version())
	if err := server.Run(ctx, cfg); err != nil {
		cfg.Logger.Error("orbit-server stopped", "error", err.Error())
		os.Exit(1)
	}
}

// watchSignals starts the graceful shutdown on the first signal (cancel) and exits
// at once on the second (exitNow): an operator who asks twice does not wait for the
// shutdown delay and the drain.
func watchSignals(sigs <-chan os.Signal, cancel, exitNow func()) {
	<-sigs
	cancel()
	<-sigs
	exitNow()
}

// configFromArgs turns flags and environment into a server.Config; it does nothing
// else, so tests can build the same Config the binary runs with.
func configFromArgs(args []string, getenv func(string) string, stdout, stderr io.Writer) (server.Config, error) {
	fs, common := newFlagSet(stderr)
	listen := fs.String("listen", defaultListen, "TCP address to listen on")
	db := fs.String("db", "orbit.db", "SQLite database file, or a postgres:// URL (several replicas may share one PostgreSQL database)")
	publicURL := fs.String("public-url", "", "externally reachable base URL, used in webhook URLs (default http://<listen>)")
	cloudAPIURL := fs.String("bitbucket-cloud-api-url", bitbucket.DefaultCloudBaseURL, "Bitbucket Cloud API origin used to check credentials and post commit statuses (a sandbox URL in tests and demos)")
	checkCredentials := fs.Bool("check-credentials", true, "check integration credentials against Bitbucket on create, update and validate")
	allowedHosts := fs.String("bitbucket-allowed-hosts", "", "comma-separated host names (*.domain for any name below it), IP addresses or CIDRs that Data Center credential checks (and status posts) may connect to; empty allows any address except link-local and cloud metadata ones, which only a listed IP or CIDR unlocks. Loopback is allowed while the list is empty.")
	webhookSecretGrace := fs.Duration("webhook-secret-grace", server.DefaultWebhookSecretGrace, "how long the webhook secret replaced by a rotation still verifies deliveries (0 = not at all), to the second; each integration shows when its previous secret stops verifying (previous_webhook_secret_expires_at). Rotating with Terraform re-keys the hooks in the same apply (docs/guides/rotating-the-webhook-secret.md)")
	maxSpaces := fs.Int("max-spaces", server.DefaultMaxSpaces, "most spaces the server holds besides root (a create beyond it is a 409)")
	maxSpaceDepth := fs.Int("max-space-depth", server.DefaultMaxSpaceDepth, "most levels below root a space may sit (deeper is a 400 on parent_space_id)")
	shutdownDelay := fs.Duration("shutdown-delay", server.DefaultShutdownDelay, "on SIGTERM, how long /readyz answers 503 before the listener closes, so load balancers stop sending first (0 = none); a second SIGTERM exits at once")
	drainTimeout := fs.Duration("drain-timeout", server.DefaultDrainTimeout, "how long in-flight requests may finish once the listener is closed; those still running are dropped and logged")
	queueLease := fs.Duration("queue-lease", server.DefaultQueueLease, "how long a claimed job (a delivery to dispatch, a status to post) stays with its worker; after a crash, another replica or the restarted server takes it once this has passed. A worker starts a claimed status job only while a third of this is left and gives its Bitbucket calls at most a third (and at most 20s), so a live worker's job is never taken twice")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated IP addresses or CIDRs of the load balancers and reverse proxies in front of orbit-server. A request from one of them counts as coming from the client its X-Forwarded-For names: the rightmost entry that is not itself a trusted proxy (the proxy's own address when an entry on the way is not an IP address or all are trusted). That address is limited on failed authentications and written to the access log. Empty: every request comes from the connection's peer and X-Forwarded-For is ignored, so clients cannot choose their address")
	webhookMaxBody := fs.Int64("webhook-max-body", server.DefaultWebhookMaxBody, "largest webhook delivery body in bytes (more is a 413, which Bitbucket does not retry); the default takes a signed Data Center push of 3,001 refs")
	webhookReadSlots := fs.Int("webhook-read-slots", 0, "how many webhook bodies over 64 KiB (or of undeclared length) are read at once before their signature is checked; beyond it such a delivery is answered 503 with Retry-After (never queued). Up to 256 smaller ones are read besides, so unauthenticated bodies hold at most this many times --webhook-max-body, plus 16 MiB, of memory (0 = 4 per CPU, at least 8)")
	maxLabels := fs.Int("max-labels", server.DefaultMaxLabels, "most labels on one object, and label filters on one list (more is a 400)")
	bodyRetention := fs.Duration("delivery-body-retention", retention.DefaultBodies, "how long a dispatched webhook delivery keeps its body (which names committers); after it only the record stays: time, event, outcome, request id and body hash (0 = as long as the record)")
	deliveryRetention := fs.Duration("delivery-retention", retention.DefaultDeliveries, "how long the record of a dispatched delivery is kept; it is also the replay window: within it a repeated request id or signed body starts nothing. At least 1m and at least --delivery-body-retention (0 = for ever)")
	runRetention := fs.Duration("run-retention", retention.DefaultRuns, "how long a finished run is kept after its last change, once its commit status is posted (0 = for ever)")
	retentionInterval := fs.Duration("retention-interval", retention.DefaultInterval, "how often retention prunes, in batches of 500 rows that leave the database to ingest in between")
	migrateOnStart := fs.Bool("migrate-on-start", true, "apply pending schema migrations on start (the default, for one server on SQLite); false refuses a schema that is behind: run `orbit-server migrate` first. A schema newer than this build is refused either way")
	if err := parseFlags(fs, common, args, getenv, stdout); err != nil {
		return server.Config{}, err
	}
	if fs.NArg() > 0 {
		return server.Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *webhookSecretGrace < 0 {
		return server.Config{}, fmt.Errorf("--webhook-secret-grace: %s is negative", *webhookSecretGrace)
	}
	grace := *webhookSecretGrace
	if grace == 0 {
		grace = -1 // Config: 0 is the default, negative is none
	}
	if *queueLease < time.Second {
		return server.Config{}, fmt.Errorf("--queue-lease: %s is shorter than a second", *queueLease)
	}
	if *webhookMaxBody < 1<<10 {
		return server.Config{}, fmt.Errorf("--webhook-max-body must be at least 1024 bytes")
	}
	if *webhookReadSlots < 0 {
		return server.Config{}, fmt.Errorf("--webhook-read-slots must not be negative")
	}
	for name, v := range map[string]int{"max-spaces": *maxSpaces, "max-space-depth": *maxSpaceDepth, "max-labels": *maxLabels} {
		if v < 1 {
			return server.Config{}, fmt.Errorf("--%s must be at least 1", name)
		}
	}
	if *shutdownDelay < 0 || *drainTimeout <= 0 {
		return server.Config{}, fmt.Errorf("--shutdown-delay must not be negative and --drain-timeout must be positive")
	}
	keep := retention.Config{Bodies: *bodyRetention, Deliveries: *deliveryRetention, Runs: *runRetention, Interval: *retentionInterval}
	if *retentionInterval <= 0 {
		return server.Config{}, fmt.Errorf("--retention-interval must be positive")
	}
	if err := keep.Validate(); err != nil {
		return server.Config{}, fmt.Errorf("--delivery-body-retention, --delivery-retention, --run-retention: %w", err)
	}
	delay := *shutdownDelay
	if delay == 0 {
		delay = -1 // Config: 0 is the default, negative is none
	}
	logger, err := newLogger(common.logLevel, common.logFormat, stderr)
	if err != nil {
		return server.Config{}, err
	}
	if *publicURL == "" {
		*publicURL = "http://" + *listen
	}
	secretKey, secretKeyFile, err := secretKeySource(getenv("ORBIT_SECRET_KEY"), *db)
	if err != nil {
		return server.Config{}, err
	}
	policy, err := egress.Parse(*allowedHosts)
	if err != nil {
		return server.Config{}, fmt.Errorf("--bitbucket-allowed-hosts: %w", err)
	}
	proxies, err := server.ParseTrustedProxies(*trustedProxies)
	if err != nil {
		return server.Config{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	var checker server.CredentialChecker
	if *checkCredentials {
		if _, err := url.ParseRequestURI(*cloudAPIURL); err != nil || !strings.HasPrefix(*cloudAPIURL, "http") {
			return server.Config{}, fmt.Errorf("--bitbucket-cloud-api-url: %q is not an http(s) URL", *cloudAPIURL)
		}
		checker = &server.BitbucketChecker{CloudBaseURL: *cloudAPIURL, Egress: policy}
	}
	return server.Config{
		CredentialChecker:     checker,
		WebhookSecretGrace:    grace,
		BitbucketCloudAPIURL:  *cloudAPIURL,
		Egress:                policy,
		Listen:                *listen,
		DB:                    *db,
		PublicURL:             *publicURL,
		SecretKey:             secretKey,
		SecretKeyFile:         secretKeyFile,
		ShutdownDelay:         delay,
		DrainTimeout:          *drainTimeout,
		BootstrapKey:          getenv("ORBIT_BOOTSTRAP_KEY"),
		Logger:                logger,
		BootstrapOut:          stdout,
		MaxSpaces:             *maxSpaces,
		MaxSpaceDepth:         *maxSpaceDepth,
		MaxLabels:             *maxLabels,
		QueueLease:            *queueLease,
		TrustedProxies:        proxies,
		DeliveryBodyRetention: forEver(*bodyRetention),
		DeliveryRetention:     forEver(*deliveryRetention),
		RunRetention:          forEver(*runRetention),
		RetentionInterval:     *retentionInterval,
		SkipMigrations:        !*migrateOnStart,
		WebhookMaxBody:        *webhookMaxBody,
		WebhookReadSlots:      *webhookReadSlots,
	}, nil
}

// forEver maps a retention flag (0 = keep for ever) to its server.Config field
// (0 = the default, negative = for ever).
func forEver(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
