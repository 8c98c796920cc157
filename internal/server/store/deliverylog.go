package store

import (
	"context"
	"time"
)

// Decisions: what dispatching a delivery decided, as a code for the delivery log
// (Delivery.Decision; "" while the delivery waits for the worker).
const (
	DecisionRunsStarted      = "runs_started"
	DecisionNoBinding        = "no_binding"
	DecisionBranchNotTracked = "branch_not_tracked"
	DecisionHeadUnchanged    = "head_unchanged"
	DecisionEventIgnored     = "event_ignored"
	DecisionDuplicate        = "duplicate"
	// DecisionRunsEnded: a merged, declined or deleted pull request ended its
	// unfinished proposed runs.
	DecisionRunsEnded = "runs_ended"
	// DecisionPathsNotTouched: the change touched no bound stack's project_root
	// or additional_project_globs.
	DecisionPathsNotTouched = "paths_not_touched"
	// DecisionNotDispatched: the delivery could not be read any more (its kind is
	// unknown to this server, or its stored body no longer parses).
	DecisionNotDispatched = "not_dispatched"
)

// Decisions lists every decision code, for validation of the log's filter.
var Decisions = []string{DecisionRunsStarted, DecisionNoBinding, DecisionBranchNotTracked, DecisionHeadUnchanged, DecisionPathsNotTouched,
	DecisionRunsEnded, DecisionEventIgnored, DecisionDuplicate, DecisionNotDispatched}

// DeliveryFilter narrows ListDeliveries. Empty fields do not filter. Results are
// newest first.
type DeliveryFilter struct {
	IntegrationID string
	// Decision is one of Decisions, or "pending" for deliveries not yet dispatched.
	Decision   string
	EventKey   string
	Namespace  string
	Repository string
	// Since (inclusive) and Until (exclusive) bound the time of receipt.
	Since, Until time.Time
	PageSize     int
	PageToken    string
}

// DeliveryEntry is one delivery as the log shows it.
type DeliveryEntry struct {
	Delivery
	// BodyRetained: the stored body is still there (Delivery.Body is loaded only
	// by GetDeliveryEntry). A NULL or empty body is not retained.
	BodyRetained bool
	// RunIDs are the runs the delivery started, oldest first.
	RunIDs []string
}

// DeliveryLogStore reads the delivery log and records redeliveries.
type DeliveryLogStore interface {
	// ListDeliveries lists an integration's deliveries without their bodies.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryEntry, string, error)
	// GetDeliveryEntry is one delivery with its body (nil when not retained).
	// *NotFoundError{Kind: "delivery"} when missing.
	GetDeliveryEntry(ctx context.Context, id string) (DeliveryEntry, error)
	// Redeliver stores a new delivery for the worker to dispatch again: the body,
	// event and signature outcome of the original (the delivery that
	// RedeliveryOf names when original is itself a redelivery), RedeliveryOf set
	// to that original and RequestedBy to requestedBy, with its JobDelivery. A
	// delivery whose body is not retained is a *ConflictError{Field: "body"}.
	Redeliver(ctx context.Context, originalID, requestedBy string) (Delivery, error)
	// DeliveryChainRuns are the runs started by the delivery originalID and by
	// every redelivery of it.
	DeliveryChainRuns(ctx context.Context, originalID string) ([]Run, error)
}

// RunPageLink is the stored half of a run page's capability link: the secret is
// derived by the server from its key and Nonce; the store keeps only its hash.
type RunPageLink struct {
	RunID     string
	Nonce     string
	TokenHash string // hex SHA-256 of the link's secret
	CreatedAt time.Time
	Revoked   bool
}

// RunPageStore keeps the capability links of run pages.
type RunPageStore interface {
	// GetRunPageLink: *NotFoundError{Kind: "run page link"} when the run has none.
	GetRunPageLink(ctx context.Context, runID string) (RunPageLink, error)
	// PutRunPageLink creates or replaces the run's link, live; with onlyIfAbsent
	// it leaves an existing link (live or revoked) alone. It returns the link
	// stored. A missing run is a *NotFoundError{Kind: "run"}.
	PutRunPageLink(ctx context.Context, l RunPageLink, onlyIfAbsent bool) (RunPageLink, error)
	// AddRunPageLinks creates, in one transaction, the link of each run of ls that
	// has none; a run with a link (live or revoked) keeps it, and a run that no
	// longer exists is skipped. The worker makes the links of a batch of status
	// jobs this way instead of one transaction per run.
	AddRunPageLinks(ctx context.Context, ls []RunPageLink) error
	// RevokeRunPageLink revokes the run's link (no error when it has none or it
	// is revoked already).
	RevokeRunPageLink(ctx context.Context, runID string) error
	// RunByPageToken is the run whose live link hashes to tokenHash;
	// ErrNotFound otherwise (unknown, revoked).
	RunByPageToken(ctx context.Context, tokenHash string) (Run, error)
}
