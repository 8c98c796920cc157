// Package receiver is the public webhook endpoint: it reads a delivery, verifies
// its signature with the integration's webhook secret (the kind says how), dedupes
// it by the product's request id, stores it with its dispatch job (grouped with
// the deliveries arriving meanwhile) and acknowledges it. Nothing else: turning a
// delivery into runs is the worker's. It may import apiwire, store, secrets, metrics, httpx
// and vcs; the API reaches it only through the interface api.WebhookTargets, the
// worker through a func (Busy).
package receiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
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
)

// Receiver is the webhook endpoint of every registered kind.
type Receiver struct {
	store   store.Store
	box     *secrets.Box
	metrics *metrics.Metrics
	grace   time.Duration
	targets *webhookTargetCache
	commits *deliveryCommitter
}

// New starts the receiver's group commit; committed is called after a commit that
// stored new deliveries (the worker's wake-up).
func New(st store.Store, box *secrets.Box, m *metrics.Metrics, grace time.Duration, committed func()) *Receiver {
	rc := &Receiver{store: st, box: box, metrics: m, grace: grace}
	rc.targets = &webhookTargetCache{rc: rc}
	rc.commits = newDeliveryCommitter(st, committed)
	return rc
}

// Routes are the receiver's routes, one per registered kind. They are public (the
// products have no API key) and read the raw body themselves: the signature covers
// the exact bytes.
func (rc *Receiver) Routes() []httpx.Route {
	var routes []httpx.Route
	for _, k := range vcs.Kinds() {
		routes = append(routes, httpx.Route{Method: "POST", Path: "/webhooks/" + k.PathSegment() + "/{name}",
			Resource: "integration", Handle: rc.receiveWebhook(k.Name())})
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
// accepted: 404 unknown integration; 413 body over 1 MiB; 200 DC ping; 401 missing
// or wrong signature (only a counter moves); 400 malformed or shape-less body; then
// the delivery and its dispatch job are committed (grouped with the deliveries
// arriving meanwhile) before the 202. A repeated request id answers 200.
func (rc *Receiver) receiveWebhook(provider store.Provider) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		outcome := "error"
		defer func() { rc.metrics.WebhookOutcome(provider, outcome) }()
		kind, err := vcs.Lookup(provider)
		if err != nil {
			// Its route was served when the server started; the kind is gone since.
			outcome = "unknown_integration"
			return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound, Message: err.Error()}
		}

		target, err := rc.targets.get(r.Context(), provider, r.PathValue("name"), false)
		if errors.Is(err, store.ErrNotFound) {
			outcome = "unknown_integration"
			return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound,
				Message: fmt.Sprintf("no %s integration is named %q", provider, r.PathValue("name"))}
		}
		if err != nil {
			return err
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				outcome = "too_large"
				return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: httpx.CodeInvalidArgument, Message: "webhook body is larger than 1 MiB"}
			}
			return httpx.InvalidArg("", "cannot read the webhook body")
		}
		meta := kind.ReadDelivery(r.Header)
		eventKey := meta.EventKey
		if meta.Ping {
			outcome = "ping"
			httpx.WriteJSON(w, http.StatusOK, webhookAnswer{Status: "pong"})
			return nil
		}

		signature := r.Header.Get(bitbucket.SignatureHeader)
		matched := target.verify(kind, r.Header, body, rc.grace)
		if matched < 0 && !target.fresh() {
			// A rotation elsewhere may have made the cached secrets stale.
			if target, err = rc.targets.get(r.Context(), provider, r.PathValue("name"), true); err == nil {
				matched = target.verify(kind, r.Header, body, rc.grace)
			}
		}
		if matched < 0 {
			outcome = "bad_signature"
			if signature == "" {
				return httpx.Unauthenticated("the delivery is not signed: set the integration's webhook secret on the repository's webhook")
			}
			return httpx.Unauthenticated("the X-Hub-Signature does not match the integration's webhook secret")
		}

		if !utf8.Valid(body) {
			outcome = "bad_payload"
			return httpx.InvalidArg("", "webhook body is not UTF-8 JSON")
		}
		_, parseErr := kind.ParseEvent(eventKey, body)
		requestID, attempt := meta.RequestID, meta.Attempt
		if parseErr != nil {
			outcome = "bad_payload"
			var pe *bitbucket.PayloadError
			if errors.As(parseErr, &pe) {
				return httpx.InvalidArg("", "%s", pe.Reason)
			}
			return httpx.InvalidArg("", "webhook body is not a Bitbucket payload")
		}
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
		receipt, err := rc.commits.record(r.Context(), store.Delivery{
			IntegrationID: target.integrationID,
			RequestID:     requestID,
			EventKey:      eventKey,
			Secret:        secretUsed,
			Attempt:       attempt,
			Body:          body,
			ReceivedAt:    time.Now(),
		})
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				rc.targets.forget(provider, r.PathValue("name"))
				outcome = "unknown_integration"
				return &httpx.Error{Status: http.StatusNotFound, Code: httpx.CodeNotFound,
					Message: fmt.Sprintf("no %s integration is named %q", provider, r.PathValue("name"))}
			}
			return err
		}
		if receipt.Duplicate {
			outcome = "duplicate"
			httpx.WriteJSON(w, http.StatusOK, webhookAnswer{Status: "duplicate"})
			return nil
		}
		outcome = "accepted"
		httpx.WriteJSON(w, http.StatusAccepted, webhookAnswer{Status: "accepted", DeliveryID: receipt.ID})
		return nil
	}
}

// webhookTarget is what the receiver needs of an integration: its id and opened
// webhook secrets.
type webhookTarget struct {
	integrationID string
	current       bitbucket.Secret
	previous      bitbucket.Secret // "" when never rotated
	rotatedAt     time.Time
	loadedAt      time.Time
}

// verify returns 0 when the current secret signed body, 1 for the previous one
// (accepted only within grace of the rotation), -1 otherwise.
func (t *webhookTarget) verify(kind vcs.Kind, header http.Header, body []byte, grace time.Duration) int {
	previous := t.previous
	if previous != "" && time.Since(t.rotatedAt) > grace {
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
	t = &webhookTarget{integrationID: in.ID, rotatedAt: in.WebhookSecretRotatedAt, loadedAt: time.Now()}
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
