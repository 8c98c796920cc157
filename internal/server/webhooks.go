package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// DefaultWebhookSecretGrace is how long the secret replaced by a rotation still
// verifies deliveries, so that none is lost while the repositories' hooks are updated.
const DefaultWebhookSecretGrace = 24 * time.Hour

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

// The receiver's routes. They are public (Bitbucket has no API key) and read the raw
// body themselves: the signature covers the exact bytes.
func (s *Server) webhookRoutes() []route {
	return []route{
		{Method: "POST", Path: "/webhooks/bitbucket-cloud/{name}", Public: true, Resource: "integration",
			handle: s.receiveWebhook(store.ProviderBitbucketCloud)},
		{Method: "POST", Path: "/webhooks/bitbucket-datacenter/{name}", Public: true, Resource: "integration",
			handle: s.receiveWebhook(store.ProviderBitbucketDataCenter)},
	}
}

type webhookAnswer struct {
	Status     string `json:"status"`
	DeliveryID string `json:"delivery_id,omitempty"`
}

// receiveWebhook answers in this order, storing nothing unless the delivery is
// accepted: 404 unknown integration; 413 body over 1 MiB; 200 DC ping; 401 missing
// or wrong signature (only a counter moves); 400 malformed or shape-less body; then
// the delivery and its dispatch job are committed (grouped with the deliveries
// arriving meanwhile) before the 202. A repeated request id answers 200.
func (s *Server) receiveWebhook(provider store.Provider) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *principal) error {
		outcome := "error"
		defer func() { s.metrics.webhookOutcome(provider, outcome) }()

		target, err := s.webhookTargets.get(r.Context(), provider, r.PathValue("name"), false)
		if errors.Is(err, store.ErrNotFound) {
			outcome = "unknown_integration"
			return &apiError{Status: http.StatusNotFound, Code: codeNotFound,
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
				return &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeInvalidArgument, Message: "webhook body is larger than 1 MiB"}
			}
			return invalidArg("", "cannot read the webhook body")
		}
		eventKey := r.Header.Get("X-Event-Key")
		if provider == store.ProviderBitbucketDataCenter && eventKey == datacenter.EventPing {
			outcome = "ping"
			writeJSON(w, http.StatusOK, webhookAnswer{Status: "pong"})
			return nil
		}

		signature := r.Header.Get(bitbucket.SignatureHeader)
		matched := target.verify(signature, body, s.webhookGrace)
		if matched < 0 && !target.fresh() {
			// A rotation elsewhere may have made the cached secrets stale.
			if target, err = s.webhookTargets.get(r.Context(), provider, r.PathValue("name"), true); err == nil {
				matched = target.verify(signature, body, s.webhookGrace)
			}
		}
		if matched < 0 {
			outcome = "bad_signature"
			if signature == "" {
				return errUnauthenticated("the delivery is not signed: set the integration's webhook secret on the repository's webhook")
			}
			return errUnauthenticated("the X-Hub-Signature does not match the integration's webhook secret")
		}

		if !utf8.Valid(body) {
			outcome = "bad_payload"
			return invalidArg("", "webhook body is not UTF-8 JSON")
		}
		var parseErr error
		var requestID string
		attempt := 1
		switch provider {
		case store.ProviderBitbucketCloud:
			_, parseErr = cloud.ParseWebhook(eventKey, body)
			requestID = r.Header.Get("X-Request-UUID")
			if n, err := strconv.Atoi(r.Header.Get("X-Attempt-Number")); err == nil && n > 0 {
				attempt = n
			}
		default:
			_, parseErr = datacenter.ParseWebhook(eventKey, body)
			requestID = r.Header.Get("X-Request-Id")
		}
		if parseErr != nil {
			outcome = "bad_payload"
			var pe *bitbucket.PayloadError
			if errors.As(parseErr, &pe) {
				return invalidArg("", "%s", pe.Reason)
			}
			return invalidArg("", "webhook body is not a Bitbucket payload")
		}
		if requestID == "" {
			// Bitbucket always sends one; without it, identical bodies are the same delivery.
			sum := sha256.Sum256(body)
			requestID = "sha256:" + hex.EncodeToString(sum[:])
		}
		if len(requestID) > maxRequestIDLen || !utf8.ValidString(requestID) {
			outcome = "bad_payload"
			return invalidArg("", "the delivery's request id header is longer than %d bytes", maxRequestIDLen)
		}

		secretUsed := store.SecretCurrent
		if matched == 1 {
			secretUsed = store.SecretPrevious
		}
		receipt, err := s.deliveries.record(r.Context(), store.Delivery{
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
				s.webhookTargets.forget(provider, r.PathValue("name"))
				outcome = "unknown_integration"
				return &apiError{Status: http.StatusNotFound, Code: codeNotFound,
					Message: fmt.Sprintf("no %s integration is named %q", provider, r.PathValue("name"))}
			}
			return err
		}
		if receipt.Duplicate {
			outcome = "duplicate"
			writeJSON(w, http.StatusOK, webhookAnswer{Status: "duplicate"})
			return nil
		}
		outcome = "accepted"
		writeJSON(w, http.StatusAccepted, webhookAnswer{Status: "accepted", DeliveryID: receipt.ID})
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
func (t *webhookTarget) verify(signature string, body []byte, grace time.Duration) int {
	previous := t.previous
	if previous != "" && time.Since(t.rotatedAt) > grace {
		previous = ""
	}
	return bitbucket.VerifySignature(signature, body, t.current, previous)
}

func (t *webhookTarget) fresh() bool { return time.Since(t.loadedAt) < 50*time.Millisecond }

// webhookTargetCache keeps opened secrets for integrationCacheTTL so that a burst of
// deliveries does not read and decrypt the integration for each one.
type webhookTargetCache struct {
	s  *Server
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
	in, err := c.s.store.GetIntegrationByName(ctx, provider, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.forget(provider, name)
		}
		return nil, err
	}
	t = &webhookTarget{integrationID: in.ID, rotatedAt: in.WebhookSecretRotatedAt, loadedAt: time.Now()}
	current, err := c.s.webhookSecret(in)
	if err != nil {
		return nil, err
	}
	t.current = bitbucket.Secret(current)
	if len(in.PreviousSealedWebhookSecret) > 0 {
		previous, err := c.s.box.Open(in.PreviousSealedWebhookSecret, webhookSecretAD(in.ID))
		if err != nil {
			return nil, fmt.Errorf("open previous webhook secret of integration %s: %w", in.ID, err)
		}
		t.previous = bitbucket.Secret(previous)
	}
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
	// lastCommit is when the last batch was committed (unix nanoseconds).
	lastCommit atomic.Int64
	stop       chan struct{}
	done       chan struct{}
}

type pendingDelivery struct {
	d      store.Delivery
	result chan deliveryResult
}

type deliveryResult struct {
	receipt store.DeliveryReceipt
	err     error
}

var errReceiverStopped = &apiError{Status: http.StatusServiceUnavailable, Code: codeInternal, Message: "orbit-server is shutting down; Bitbucket will retry"}

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
		c.lastCommit.Store(time.Now().UnixNano())
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

// busy reports whether deliveries arrived within the last window.
func (c *deliveryCommitter) busy(window time.Duration) bool {
	return time.Since(time.Unix(0, c.lastCommit.Load())) < window
}

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
