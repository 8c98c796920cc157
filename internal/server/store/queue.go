package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Delivery is one accepted webhook delivery.
type Delivery struct {
	ID            string
	IntegrationID string
	// RequestID is Bitbucket's X-Request-UUID (Cloud) or X-Request-Id (DC): the
	// dedupe key, unique per integration.
	RequestID string
	EventKey  string
	// Secret says which webhook secret verified it: SecretCurrent or SecretPrevious.
	Secret  string
	Attempt int // Cloud's X-Attempt-Number of the stored attempt (1 for DC)
	Body    []byte
	// BodySHA256 is BodySHA256(Body), filled by the store: the replay key, unique
	// per integration and event key ("" on rows stored before it was kept).
	BodySHA256  string
	ReceivedAt  time.Time
	ProcessedAt time.Time // zero until dispatched
	// Outcome is what dispatch did, for a person. Set when recorded, the delivery
	// was decided on receipt (an ignored event): it is stored processed, no job,
	// with Decision, Namespace and Repository as given.
	Outcome string
	// Decision is Outcome as a code (DecisionRunsStarted, ...; "" until
	// dispatched); Namespace and Repository are what the event named.
	Decision   string
	Namespace  string
	Repository string
	// RedeliveryOf is the original delivery of a redelivery ("" otherwise), and
	// RequestedBy the API key that asked for it.
	RedeliveryOf string
	RequestedBy  string
}

// BodySHA256 is the replay key of a delivery body: its SHA-256, hex.
func BodySHA256(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

const (
	SecretCurrent  = "current"
	SecretPrevious = "previous"
)

// DeliveryReceipt is RecordDeliveries' answer for one delivery.
type DeliveryReceipt struct {
	ID string // the new delivery's id; "" for a duplicate
	// Duplicate: a delivery with the same (integration, request id) or the same
	// (integration, event key, body) was already stored (Bitbucket retried, a replica got it
	// first, or someone replays a signed body); nothing was added.
	Duplicate bool
	// Err is set when this delivery could not be stored (e.g. its integration was
	// deleted meanwhile); the others of the batch are unaffected.
	Err error
}

// JobKind names a queue.
type JobKind string

const (
	// JobDelivery dispatches a delivery (SubjectID) into runs.
	JobDelivery JobKind = "delivery"
	// JobStatus posts the commit statuses of a run (SubjectID).
	JobStatus JobKind = "status"
)

// Job is a claimed queue row.
type Job struct {
	ID        string
	Kind      JobKind
	SubjectID string
	// Attempts counts claims, this one included.
	Attempts  int
	LastError string
	// TakenOver: an earlier claim's lease ran out while the job was neither
	// finished nor handed back (its worker or replica stopped, or overran).
	TakenOver bool
}

type RunKind string

const (
	RunTracked  RunKind = "tracked"
	RunProposed RunKind = "proposed"
)

type RunState string

const (
	RunQueued   RunState = "queued"
	RunRunning  RunState = "running"
	RunFinished RunState = "finished"
)

type RunResult string

const (
	ResultSucceeded RunResult = "succeeded"
	ResultFailed    RunResult = "failed"
	ResultCanceled  RunResult = "canceled"
)

// Run is one run of a stack on a commit. Runs are records: orbit-server does not
// execute anything; a result is reported through the API.
type Run struct {
	ID            string
	StackID       string
	IntegrationID string
	Namespace     string // Cloud workspace or DC project key of the commit's repository
	Repository    string
	Kind          RunKind
	Commit        string
	Branch        string
	PullRequest   int64 // 0: none
	State         RunState
	Result        RunResult // "" until finished
	Message       string
	DeliveryID    string // "" for a manual trigger
	StatusError   string // why the commit status could not be posted
	// TriggerReason says why a run of a delivery started: the changed paths that
	// concern its stack (a few, with a count), or why they could not be listed.
	TriggerReason string
	// TriggeredBy is who or what started the run: the pusher (push), the pull
	// request's author, or the API key of a manual trigger ("" when unknown).
	TriggeredBy string
	// PullRequestTitle is the pull request's title when the run was made ("" for
	// other runs).
	PullRequestTitle string
	CreatedAt        time.Time // queued
	// StartedAt is when a runner reported the run started (RunRunning), zero
	// when none did; FinishedAt when it finished, zero until then.
	StartedAt  time.Time
	FinishedAt time.Time
	UpdatedAt  time.Time
}

// DeliveryResult is what dispatching a delivery produced.
type DeliveryResult struct {
	DeliveryID string
	Outcome    string
	// Decision, Namespace, Repository: see Delivery.
	Decision   string
	Namespace  string
	Repository string
	Runs       []Run // ID may be empty (the store fills it)
	// Closes, when set, ends the proposed runs of a pull request that was merged,
	// declined or deleted.
	Closes *PullRequestClose
	// Rename, when set, points the integration's bindings of a renamed or moved
	// repository at its new name, in the transaction that completes the delivery.
	Rename *RepositoryRename
	// RepositoryID, when set, is the stable id the delivery reported for the
	// repository Namespace/Repository of IntegrationID: the bindings naming it that
	// have another (or none) take it.
	RepositoryID  string
	IntegrationID string
}

// RepositoryRename is a repository of an integration renamed or moved in Bitbucket:
// every binding of the integration that names Old* names New* afterwards (with a new
// version), and keeps Old* as its RenamedFrom*.
type RepositoryRename struct {
	IntegrationID               string
	OldNamespace, OldRepository string
	NewNamespace, NewRepository string
	// RepositoryID, when not "", also matches the bindings that learnt this id under
	// another name (an earlier rename orbit did not hear of).
	RepositoryID string
}

// PullRequestClose names a closed pull request: its proposed runs not yet finished
// finish canceled with Message, each with its status job (the product's stopped
// state), in the transaction that completes the delivery.
type PullRequestClose struct {
	IntegrationID string
	Namespace     string
	Repository    string
	PullRequest   int64
	Message       string
}

// DeliveryCompletion is a dispatched delivery job: the job and what the
// delivery produced.
type DeliveryCompletion struct {
	JobID  string
	Result DeliveryResult
}

// RunFilter narrows ListRuns. Results are newest first.
type RunFilter struct {
	StackID string
	// Commits, when set, limits to runs whose stored commit is one of them.
	Commits []string
	// SpaceIDs limits to runs of stacks in these spaces; nil = all, empty = none.
	SpaceIDs []string
	// ReadableBy, an API key id, limits to runs of stacks that key can read (as
	// ListFilter.ReadableBy).
	ReadableBy string
	PageSize   int
	PageToken  string
}

// QueueStore holds deliveries, the job queue (an outbox: each job is written in
// the same transaction as its subject) and runs.
//
// Claiming is the one place an engine differs: SQLite serializes writers, while
// PostgreSQL claims with FOR UPDATE SKIP LOCKED so that replicas take different
// jobs (Dialect.SkipLocked).
type QueueStore interface {
	// RecordDeliveries stores each delivery and a JobDelivery for it (none for a
	// delivery recorded with its Outcome: it is stored processed), all in one
	// transaction (group commit); receipts are in input order. A delivery whose
	// (IntegrationID, RequestID) or (IntegrationID, EventKey, BodySHA256(Body)) exists, in the
	// store or earlier in the batch, is a Duplicate and adds nothing; the check is
	// the insert's, so concurrent receivers store a body once.
	RecordDeliveries(ctx context.Context, ds []Delivery) ([]DeliveryReceipt, error)
	GetDelivery(ctx context.Context, id string) (Delivery, error)

	// ClaimJobs leases up to limit jobs of kind that are due and not leased, until
	// now+lease, and counts the attempt. A job whose worker died is claimed again
	// once its lease has run out.
	ClaimJobs(ctx context.Context, kind JobKind, limit int, lease time.Duration) ([]Job, error)
	// RetryJob releases a job to be claimed again at runAfter.
	RetryJob(ctx context.Context, jobID string, runAfter time.Time, lastError string) error
	// PostponeJob releases a claimed job to be claimed again at runAfter without
	// counting the claim as an attempt (the work could not start: waiting on
	// something outside it, like a VCS agent); its last error is kept.
	PostponeJob(ctx context.Context, jobID string, runAfter time.Time) error
	// ReleaseJobs hands claimed jobs back unstarted: claimable at once, their
	// attempt uncounted and their last error kept (no error for one gone).
	ReleaseJobs(ctx context.Context, jobIDs ...string) error
	// DeleteJobs removes finished jobs in one transaction (no error for one
	// already gone).
	DeleteJobs(ctx context.Context, jobIDs ...string) error

	// CompleteDeliveries, in one transaction for the whole batch, for each
	// completion: inserts Result.Runs (skipping any this delivery already produced
	// for the same stack and kind) with a JobStatus for each, finishes the runs
	// Result.Closes names (canceled, with a JobStatus each), marks the delivery
	// processed with Result.Outcome, and deletes the job. It returns the runs it
	// inserted, per completion. An error stores nothing. Runs are stamped in the
	// order of cs (each completion later than the one before), so the newest run
	// of a branch or pull request is the one completed last.
	CompleteDeliveries(ctx context.Context, cs []DeliveryCompletion) ([][]Run, error)

	// CreateRun inserts a run (a manual trigger) with its JobStatus.
	CreateRun(ctx context.Context, r Run) (Run, error)
	GetRun(ctx context.Context, id string) (Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]Run, string, error)
	// FinishRun sets the result of a queued or running run and queues its status;
	// ConflictError{Field: "result"} when it already finished.
	FinishRun(ctx context.Context, id string, result RunResult, message string) (Run, error)
	// StartRun moves a queued run to RunRunning (StartedAt now) and queues its
	// status; started is false, and nothing changes, when it is running already.
	// ConflictError{Field: "state"} when it finished.
	StartRun(ctx context.Context, id string) (run Run, started bool, err error)
	// SetRunStatusError records why the run's commit status was not posted ("" clears it).
	SetRunStatusError(ctx context.Context, id, message string) error
	// LatestPullRequestCommit returns the commit of the newest proposed run of stackID
	// for pull request pr of the repository, "" when there is none.
	LatestPullRequestCommit(ctx context.Context, stackID, namespace, repository string, pr int64) (string, error)
	// LatestBranchCommit returns the commit of the newest tracked run (of any stack)
	// on the branch of the integration's repository: the head orbit last heard of.
	// "" when there is none.
	LatestBranchCommit(ctx context.Context, integrationID, namespace, repository, branch string) (string, error)
}
