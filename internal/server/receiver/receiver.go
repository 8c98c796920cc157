// Package receiver is the public webhook endpoint: it reads a delivery, verifies
// its signature with the integration's webhook secret (the kind says how), dedupes
// it (by the product's request id, and by the body: a replay with another request
// id is a duplicate too), stores it with its dispatch job (grouped with the
// deliveries arriving meanwhile) and acknowledges it. Before a request is
// authenticated it costs a bounded amount: an unsigned one is refused without its
// body being read, a client that keeps failing signatures is refused before it
// is read, and bodies are read under two gates (beyond them 503, never a queue):
// SmallReadSlots for those declaring at most SmallBody bytes (nearly every
// delivery), ReadSlots for larger or undeclared ones. Nothing else: turning a delivery into runs is the worker's. It may
// import apiwire, store, secrets, metrics, httpx, vcs, internal/httpguard and
// internal/textcap; the API reaches it only through the interface
// api.WebhookTargets, the worker through a func (Busy).
package receiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

const (
	// maxRequestIDLen bounds the dedupe key taken from X-Request-UUID / X-Request-Id.
	maxRequestIDLen = 200
	// maxDeliveryBatch bounds one group commit.
	maxDeliveryBatch = 256
	// integrationCacheTTL bounds how long a receiver trusts a cached integration (its
	// secrets) before reading it again. A signature that does not verify against a
	// cached entry is checked once more against a fresh read, so a rotation made on
	// another replica never rejects a delivery signed with the new secret.
	integrationCacheTTL = 2 * time.Second
	// busyRetryAfter is the Retry-After of a 503 when every read slot is taken.
	busyRetryAfter = time.Second
	// SmallBody is the most a delivery may declare (Content-Length) to be read under
	// the small gate; SmallReadSlots its slots: 16 MiB of bodies at most.
	SmallBody      = 64 << 10
	SmallReadSlots = 256
)

// Defaults of Config.
const (
	// DefaultMaxBody accepts a signed Data Center push of 3,001 refs (0.72 to 2.77 MiB
	// depending on the refs' names) with room to spare.
	DefaultMaxBody = 4 << 20
	// DefaultFailureBurst wrong or missing signatures (and unknown integration names)
	// from one client address are answered 401/404; beyond them, 429 before the body
	// is read until DefaultFailureInterval per failure has passed.
	DefaultFailureBurst    = 20
	DefaultFailureInterval = time.Second
)

// Config is how a receiver is built; zero values are the defaults.
type Config struct {
	// Grace is how long a rotated-out webhook secret still verifies deliveries
	// (negative: not at all).
	Grace time.Duration
	// Now is the clock the grace is measured with; nil is time.Now.
	Now func() time.Time
	// MaxBody bounds a delivery's body (DefaultMaxBody).
	MaxBody int64
	// ReadSlots bounds how many bodies larger than SmallBody (or of undeclared
	// length) are read (and verified) at once (httpguard.DefaultGateSlots); at most
	// SmallReadSlots smaller ones are besides. Memory spent on unauthenticated bodies
	// is at most ReadSlots × MaxBody + SmallReadSlots × SmallBody.
	ReadSlots int
	// FailureBurst and FailureInterval limit failed signatures per client address
	// (DefaultFailureBurst, DefaultFailureInterval).
	FailureBurst    int
	FailureInterval time.Duration
	// TrustedProxies decide a request's client address (httpx.ClientAddress).
	TrustedProxies []netip.Prefix
}

// Receiver is the webhook endpoint of every registered kind.
type Receiver struct {
	store    store.Store
	box      *secrets.Box
	metrics  *metrics.Metrics
	grace    time.Duration
	now      func() time.Time
	maxBody  int64
	reads    *httpguard.Gate // bodies over SmallBody or of undeclared length
	small    *httpguard.Gate // bodies declaring at most SmallBody
	failures *httpguard.FailureLimiter
	trusted  []netip.Prefix
	targets  *webhookTargetCache
	commits  *deliveryCommitter
}

// New starts the receiver's group commit; committed is called after a commit that
// stored new deliveries (the worker's wake-up).
func New(st store.Store, box *secrets.Box, m *metrics.Metrics, cfg Config, committed func()) *Receiver {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.ReadSlots <= 0 {
		cfg.ReadSlots = httpguard.DefaultGateSlots()
	}
	if cfg.FailureBurst <= 0 {
		cfg.FailureBurst = DefaultFailureBurst
	}
	if cfg.FailureInterval <= 0 {
		cfg.FailureInterval = DefaultFailureInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rc := &Receiver{store: st, box: box, metrics: m, grace: cfg.Grace, now: cfg.Now, maxBody: cfg.MaxBody,
		reads:    httpguard.NewGate(cfg.ReadSlots),
		small:    httpguard.NewGate(SmallReadSlots),
		failures: httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: cfg.FailureBurst, Interval: cfg.FailureInterval}),
		trusted:  cfg.TrustedProxies}
	rc.targets = &webhookTargetCache{rc: rc}
	rc.commits = newDeliveryCommitter(st, committed)
	m.WebhookGuard(func() float64 { return float64(rc.reads.Refused() + rc.small.Refused()) },
		func() float64 { return float64(rc.failures.Tracked()) })
	return rc
}

// Routes are the receiver's routes, one per registered kind. They are public (the
// products have no API key) and read the raw body themselves, up to MaxBody: the
// signature covers the exact bytes.
func (rc *Receiver) Routes() []httpx.Route {
	var routes []httpx.Route
	for _, k := range vcs.Kinds() {
		routes = append(routes, httpx.Route{Method: "POST", Path: "/webhooks/" + k.PathSegment() + "/{name}",
			Resource: "integration", Handle: rc.receiveWebhook(k.Name()), MaxBodyBytes: rc.maxBody})
	}
	return routes
}

// Forget drops a cached integration (after a rotation, update or delete).
func (rc *Receiver) Forget(provider store.Provider, name string) { rc.targets.forget(provider, name) }

// Busy reports whether deliveries are waiting for their commit.
func (rc *Receiver) Busy() bool { return rc.commits.busy() }

// Close stops the group commit after the batch in progress.
func (rc *Receiver) Close() { rc.commits.close() }

type webhookAnswer = apiwire.WebhookAnswer

// receiveWebhook answers in this order, storing nothing unless the delivery is
// accepted (API.md, "Webhook receiver"): 429 for a client over its failed-signature
// allowance; 404 unknown integration; 200 DC ping; 401 no signature header — none
// of these reads the body; 503 when every read slot is taken; 413 body over
// MaxBody; 401 wrong signature; 400 malformed or shape-less body; then the
// delivery is committed (grouped with the deliveries arriving meanwhile): 202 with
// its dispatch job, 200 "ignored" for an event orbit does not act on (recorded
// with the reason, no job), 200 "duplicate" for a request id or a body already
// stored for the integration.
func (rc *Receiver) receiveWebhook(provider store.Provider) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		outcome := "error"
		defer func() { rc.metrics.WebhookOutcome(provider, outcome) }()
		client := httpx.ClientAddress(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), rc.trusted)
		if wait := rc.failures.RetryAfter(client); wait > 0 {
			outcome = "rate_limited"
			seconds := httpguard.SetRetryAfter(w, wait)
			return &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited,
				Message: fmt.Sprintf("too many unsigned, wrongly signed or misaddressed deliveries from this address; retry after %ds", seconds)}
		}
		kind, err := vcs.Lookup(provider)
		if err != nil {
			// Its route was served when the server started; the kind is gone since.
			outcome = "unknown_integration"
			return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound, Message: err.Error()}
		}
		name := r.PathValue("name")
		target, err := rc.targets.get(r.Context(), provider, name, false)
		if errors.Is(err, store.ErrNotFound) {
			rc.failures.Failed(client)
			outcome = "unknown_integration"
			return unknownIntegration(provider, name)
		}
		if err != nil {
			return err
		}
		meta := kind.ReadDelivery(r.Header)
		if meta.Ping {
			// Data Center's "test connection" is unsigned and carries nothing to act on.
			outcome = "ping"
			httpx.WriteJSON(w, http.StatusOK, webhookAnswer{Status: "pong"})
			return nil
		}
		if meta.Unsigned {
			rc.failures.Failed(client)
			outcome = "bad_signature"
			return httpx.Unauthenticated("the delivery is not signed: set the integration's webhook secret on the repository's webhook")
		}
		gate, limit := rc.reads, rc.maxBody
		if r.ContentLength >= 0 && r.ContentLength <= min(SmallBody, rc.maxBody) {
			// net/http reads no more than the declared length.
			gate, limit = rc.small, max(r.ContentLength, 1)
		}
		release, ok := gate.TryAcquire()
		if !ok {
			outcome = "busy"
			httpguard.SetRetryAfter(w, busyRetryAfter)
			return &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeRateLimited,
				Message: "orbit-server is reading as many deliveries as it reads at once; retry shortly"}
		}
		body, matched, err := rc.readVerified(r, kind, provider, name, limit, &target)
		// Past the signature check the body is a signed delivery: the slot bounds
		// only what unauthenticated requests hold.
		release()
		if err != nil {
			var ae *httpx.Error
			if errors.As(err, &ae) {
				switch ae.Status {
				case http.StatusRequestEntityTooLarge:
					outcome = "too_large"
				case http.StatusUnauthorized:
					rc.failures.Failed(client)
					outcome = "bad_signature"
				}
			}
			return err
		}
		eventKey := meta.EventKey
		if !utf8.Valid(body) {
			outcome = "bad_payload"
			return httpx.InvalidArg("", "webhook body is not UTF-8 JSON")
		}
		ev, parseErr := kind.ParseEvent(eventKey, body)
		if parseErr != nil {
			outcome = "bad_payload"
			var pe *bitbucket.PayloadError
			if errors.As(parseErr, &pe) {
				return httpx.InvalidArg("", "%s", pe.Reason)
			}
			return httpx.InvalidArg("", "webhook body is not a Bitbucket payload")
		}
		requestID, attempt := meta.RequestID, meta.Attempt
		if requestID == "" {
			// Bitbucket always sends one; without it, identical bodies are the same delivery.
			sum := sha256.Sum256(body)
			requestID = "sha256:" + hex.EncodeToString(sum[:])
		}
		if len(requestID) > maxRequestIDLen || !utf8.ValidString(requestID) {
			outcome = "bad_payload"
			return httpx.InvalidArg("", "the delivery's request id header is longer than %d bytes", maxRequestIDLen)
		}
		secretUsed := store.SecretCurrent
		if matched == 1 {
			secretUsed = store.SecretPrevious
		}
		d := store.Delivery{
			IntegrationID: target.integrationID,
			RequestID:     requestID,
			EventKey:      eventKey,
			Secret:        secretUsed,
			Attempt:       attempt,
			Body:          body,
			ReceivedAt:    time.Now(),
		}
		if ev.Kind == bitbucket.EventIgnored {
			// Decided on receipt: recorded with why, nothing to dispatch.
			d.Outcome, d.Decision = IgnoredOutcome(ev), store.DecisionEventIgnored
			d.Namespace, d.Repository = ev.Namespace, ev.Repository
		}
		receipt, err := rc.commits.record(r.Context(), d)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				rc.targets.forget(provider, name)
				outcome = "unknown_integration"
				return unknownIntegration(provider, name)
			}
			return err
		}
		switch {
		case receipt.Duplicate:
			outcome = "duplicate"
			httpx.WriteJSON(w, http.StatusOK, webhookAnswer{Status: "duplicate"})
		case d.Outcome != "":
			outcome = "ignored"
			httpx.WriteJSON(w, http.StatusOK, webhookAnswer{Status: "ignored", DeliveryID: receipt.ID, Reason: ev.Reason})
		default:
			outcome = "accepted"
			httpx.WriteJSON(w, http.StatusAccepted, webhookAnswer{Status: "accepted", DeliveryID: receipt.ID})
		}
		return nil
	}
}

// IgnoredOutcome is the outcome recorded for an event orbit does not act on:
// its key, repository and reason, capped (textcap.DefaultLimit).
func IgnoredOutcome(ev bitbucket.WebhookEvent) string {
	what := ev.Key
	if ev.Namespace != "" || ev.Repository != "" {
		what += " on " + ev.Namespace + "/" + ev.Repository
	}
	return textcap.String(what+": ignored, "+ev.Reason, textcap.DefaultLimit)
}

func unknownIntegration(provider store.Provider, name string) *httpx.Error {
	return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound,
		Message: fmt.Sprintf("no %s integration is named %q", provider, name)}
}

// readVerified reads the body (at most limit, 413 beyond) and checks its
// signature against target's secrets, reading the integration once more when the
// cached secrets may be stale (*target is then the fresh one). matched is
// VerifyDelivery's answer; a wrong signature is a 401.
func (rc *Receiver) readVerified(r *http.Request, kind vcs.Kind, provider store.Provider, name string, limit int64, target **webhookTarget) (body []byte, matched int, err error) {
	body, err = httpguard.ReadBody(r.Body, r.ContentLength, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.Is(err, httpguard.ErrBodyTooLarge) || errors.As(err, &tooLarge) {
			return nil, -1, &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: httpx.CodeInvalidArgument,
				Message: fmt.Sprintf("webhook body is larger than %d bytes (--webhook-max-body)", rc.maxBody)}
		}
		return nil, -1, httpx.InvalidArg("", "cannot read the webhook body")
	}
	matched = (*target).verify(kind, r.Header, body, rc.now())
	if matched < 0 && !(*target).fresh() {
		// A rotation elsewhere may have made the cached secrets stale.
		if fresh, err := rc.targets.get(r.Context(), provider, name, true); err == nil {
			*target = fresh
			matched = fresh.verify(kind, r.Header, body, rc.now())
		}
	}
	if matched < 0 {
		return nil, -1, httpx.Unauthenticated("the X-Hub-Signature does not match the integration's webhook secret")
	}
	return body, matched, nil
}

// webhookTarget is what the receiver needs of an integration: its id and opened
// webhook secrets.
type webhookTarget struct {
	integrationID string
	current       bitbucket.Secret
	previous      bitbucket.Secret // "" when never rotated
	// previousUntil is the last instant previous verifies
	// (store.Integration.PreviousWebhookSecretExpiry).
	previousUntil time.Time
	loadedAt      time.Time
}

// verify returns 0 when the current secret signed body, 1 for the previous one
// (tried only until previousUntil: within the grace of the rotation), -1 otherwise.
func (t *webhookTarget) verify(kind vcs.Kind, header http.Header, body []byte, now time.Time) int {
	previous := t.previous
	if now.After(t.previousUntil) {
		previous = ""
	}
	return kind.VerifyDelivery(header, body, t.current, previous)
}

func (t *webhookTarget) fresh() bool { return time.Since(t.loadedAt) < 50*time.Millisecond }

// webhookTargetCache keeps opened secrets for integrationCacheTTL so that a burst of
// deliveries does not read and decrypt the integration for each one.
type webhookTargetCache struct {
	rc *Receiver
	mu sync.Mutex
	m  map[string]*webhookTarget
}

func (c *webhookTargetCache) key(provider store.Provider, name string) string {
	return string(provider) + "/" + name
}

func (c *webhookTargetCache) get(ctx context.Context, provider store.Provider, name string, reload bool) (*webhookTarget, error) {
	key := c.key(provider, name)
	c.mu.Lock()
	t := c.m[key]
	c.mu.Unlock()
	if t != nil && !reload && time.Since(t.loadedAt) < integrationCacheTTL {
		return t, nil
	}
	in, err := c.rc.store.GetIntegrationByName(ctx, provider, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.forget(provider, name)
		}
		return nil, err
	}
	t = &webhookTarget{integrationID: in.ID, previousUntil: in.PreviousWebhookSecretExpiry(c.rc.grace), loadedAt: time.Now()}
	current, err := c.rc.box.WebhookSecret(in)
	if err != nil {
		return nil, err
	}
	previous, err := c.rc.box.PreviousWebhookSecret(in)
	if err != nil {
		return nil, err
	}
	t.current, t.previous = bitbucket.Secret(current), bitbucket.Secret(previous)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*webhookTarget{}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}

// forget drops a cached integration (after a rotation, update or delete here).
func (c *webhookTargetCache) forget(provider store.Provider, name string) {
	c.mu.Lock()
	delete(c.m, c.key(provider, name))
	c.mu.Unlock()
}

// deliveryCommitter is the group commit: handlers hand their delivery over and wait;
// one loop takes every delivery waiting at that moment (up to maxDeliveryBatch),
// commits them in one transaction and answers each. Under load, batches grow by
// themselves while the previous commit runs; alone, a delivery commits at once.
type deliveryCommitter struct {
	st      store.Store
	pending chan *pendingDelivery
	// committed is signalled after a commit that stored new deliveries.
	committed func()
	// waiting counts the deliveries handed over and not yet answered.
	waiting atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

type pendingDelivery struct {
	d      store.Delivery
	result chan deliveryResult
}

type deliveryResult struct {
	receipt store.DeliveryReceipt
	err     error
}

var errReceiverStopped = &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeInternal, Message: "orbit-server is shutting down; Bitbucket will retry"}

func newDeliveryCommitter(st store.Store, committed func()) *deliveryCommitter {
	c := &deliveryCommitter{
		st:        st,
		pending:   make(chan *pendingDelivery, 4*maxDeliveryBatch),
		committed: committed,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go c.loop()
	return c
}

// record waits until d is committed (or found to be a duplicate).
func (c *deliveryCommitter) record(ctx context.Context, d store.Delivery) (store.DeliveryReceipt, error) {
	p := &pendingDelivery{d: d, result: make(chan deliveryResult, 1)}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	select {
	case c.pending <- p:
	case <-c.stop:
		return store.DeliveryReceipt{}, errReceiverStopped
	case <-ctx.Done():
		return store.DeliveryReceipt{}, ctx.Err()
	}
	select {
	case res := <-p.result:
		if res.err == nil && res.receipt.Err != nil {
			return res.receipt, res.receipt.Err
		}
		return res.receipt, res.err
	case <-ctx.Done():
		// The commit may still happen; Bitbucket's retry will then be a duplicate.
		return store.DeliveryReceipt{}, ctx.Err()
	}
}

func (c *deliveryCommitter) loop() {
	defer close(c.done)
	batch := make([]*pendingDelivery, 0, maxDeliveryBatch)
	for {
		batch = batch[:0]
		select {
		case p := <-c.pending:
			batch = append(batch, p)
		case <-c.stop:
			c.failPending()
			return
		}
	fill:
		for len(batch) < maxDeliveryBatch {
			select {
			case p := <-c.pending:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		ds := make([]store.Delivery, len(batch))
		for i, p := range batch {
			ds[i] = p.d
		}
		// Not the request's context: a client going away must not roll back the others.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		receipts, err := c.st.RecordDeliveries(ctx, ds)
		cancel()
		stored := false
		for i, p := range batch {
			if err != nil {
				p.result <- deliveryResult{err: err}
				continue
			}
			stored = stored || receipts[i].ID != ""
			p.result <- deliveryResult{receipt: receipts[i]}
		}
		if stored && c.committed != nil {
			c.committed()
		}
	}
}

// busy reports whether deliveries are waiting for their commit.
func (c *deliveryCommitter) busy() bool { return c.waiting.Load() > 0 }

func (c *deliveryCommitter) failPending() {
	for {
		select {
		case p := <-c.pending:
			p.result <- deliveryResult{err: errReceiverStopped}
		default:
			return
		}
	}
}

// close stops the loop after the batch in progress.
func (c *deliveryCommitter) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}
