// Package vcs is the per-kind seam of orbit-server: the one interface a VCS kind
// (a product such as Bitbucket Cloud) implements, and the registry every other
// part asks for the kind of an integration. Nothing outside a kind's own package
// decides by a kind's name: an unknown kind is an error where it is met
// ("unsupported integration kind"), never a fallback to another kind.
//
// The kinds live one package each below this one (bitbucketcloud, bitbucketdc)
// and register themselves when imported (the server root imports them). This
// package may import store, httpx, apiwire, bitbucket and egress; it imports no
// other part of the server, and no kind.
package vcs

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Kind is one VCS product orbit-server works with.
type Kind interface {
	// Name is the kind as stored and as the API's provider field says it.
	Name() store.Provider
	// PathSegment is the kind's part of its webhook URL: /webhooks/<segment>/<name>.
	PathSegment() string

	// BuildIntegration validates the kind's own fields of a create (current nil)
	// or an update and sets them on in (whose common fields are set); it returns
	// the credential sent, if any. Errors are httpx errors naming the field.
	BuildIntegration(req *apiwire.IntegrationRequest, in store.Integration, current *store.Integration) (store.Integration, *PendingCredential, error)
	// RenderIntegration sets the kind's own fields (and warnings) of an answer.
	RenderIntegration(in store.Integration, resp *apiwire.Integration)
	// CredentialField is the request field a failed credential check of reason is
	// reported on ("" for none).
	CredentialField(in store.Integration, reason string) string
	// CheckCredentials checks credential against the product (see BitbucketChecker).
	CheckCredentials(ctx context.Context, env CheckEnv, in store.Integration, credential string) CredentialCheck
	// BranchHead is the head commit of branch in the repository, read with the
	// integration's credential (a manual trigger before any push). Errors are
	// *RefError.
	BranchHead(ctx context.Context, env CheckEnv, in store.Integration, credential, namespace, repository, branch string) (string, error)
	// CheckRepository checks that the repository exists and the integration's
	// credential may read it (a binding's create or update). Errors are *RefError;
	// nil also when the kind cannot reach the product at all by design (a private
	// worker pool), which it documents.
	CheckRepository(ctx context.Context, env CheckEnv, in store.Integration, credential, namespace, repository string) error
	// DefaultEvents are the webhook triggers the repositories must send.
	DefaultEvents() []string
	// CheckNamespace checks a binding's namespace (workspace, project key).
	CheckNamespace(namespace string) error
	// RepositoryURL is the repository's page for a person.
	RepositoryURL(b store.StackBinding) string

	// ReadDelivery reads what the receiver needs of a delivery's headers; a ping is
	// acknowledged before its signature is checked, and not stored.
	ReadDelivery(header http.Header) Delivery
	// VerifyDelivery returns 0 when current signed the delivery, 1 for previous
	// ("" when there is none), -1 otherwise.
	VerifyDelivery(header http.Header, body []byte, current, previous bitbucket.Secret) int
	// ParseEvent reads a stored delivery into the event the dispatcher acts on.
	ParseEvent(eventKey string, body []byte) (bitbucket.WebhookEvent, error)

	// NewStatusPoster builds what posts the commit statuses of run. A permanent
	// reason not to post is a *StatusRefusal.
	NewStatusPoster(env StatusEnv, in store.Integration, credential string, run store.Run) (StatusPoster, error)

	// ChangedPaths lists the paths a push or pull request changed (a rename counts
	// both), with in's credential and the same clients as the status poster. Past
	// bitbucket.MaxChangedPaths it fails with a *bitbucket.TooManyChangesError.
	ChangedPaths(ctx context.Context, env StatusEnv, in store.Integration, credential string, ch Change) ([]string, error)
}

// Change is what a listing of changed paths is asked for: a push (Commit, and Old
// the branch's previous commit, "" for a new branch, which is compared with the
// repository's main branch) or a pull request (PullRequest > 0).
type Change struct {
	Namespace   string
	Repository  string
	Commit      string
	Old         string
	PullRequest int64
}

// PendingCredential is a credential sent in a request, not yet sealed.
type PendingCredential struct {
	Field     string
	Plaintext string
}

// Delivery is what a kind reads of a received delivery.
type Delivery struct {
	// Ping: a connectivity test, answered and not stored.
	Ping bool
	// Unsigned: the delivery carries no signature header at all. It is refused
	// (401) before its body is read.
	Unsigned bool
	EventKey string
	// RequestID is the product's delivery id ("" when it sent none).
	RequestID string
	// Attempt counts the product's retries of this delivery, from 1.
	Attempt int
}

// CommitStatus is one status to post: a state in orbit's terms (INPROGRESS,
// SUCCESSFUL, FAILED, STOPPED), which the kind maps to its product's.
type CommitStatus struct {
	Key         string
	State       string
	Name        string
	Description string
	URL         string
}

// StatusPoster posts statuses with one integration's credentials.
type StatusPoster func(ctx context.Context, st CommitStatus) error

// StatusRefusal is a reason never to retry a status post: recorded on the run as is.
type StatusRefusal struct{ Msg string }

func (e *StatusRefusal) Error() string { return e.Msg }

// UnsupportedKindError is the error of every place that meets a kind the registry
// does not hold.
type UnsupportedKindError struct{ Kind string }

func (e *UnsupportedKindError) Error() string {
	return fmt.Sprintf("unsupported integration kind %q (this server knows %s)", e.Kind, strings.Join(Names(), ", "))
}

var registry = struct {
	sync.RWMutex
	kinds map[store.Provider]Kind
}{kinds: map[store.Provider]Kind{}}

// Register adds k to the registry (a kind's package does it when imported; a test
// may add a fake kind) and returns what removes it again. A second kind of the
// same name or path segment is a programming error: Register panics.
func Register(k Kind) (unregister func()) {
	registry.Lock()
	defer registry.Unlock()
	for _, other := range registry.kinds {
		if other.Name() == k.Name() || other.PathSegment() == k.PathSegment() {
			panic(fmt.Sprintf("vcs: kind %q registered twice", k.Name()))
		}
	}
	registry.kinds[k.Name()] = k
	return func() {
		registry.Lock()
		defer registry.Unlock()
		delete(registry.kinds, k.Name())
	}
}

// Lookup is the kind named name, or an *UnsupportedKindError.
func Lookup(name store.Provider) (Kind, error) {
	registry.RLock()
	defer registry.RUnlock()
	if k, ok := registry.kinds[name]; ok {
		return k, nil
	}
	return nil, &UnsupportedKindError{Kind: string(name)}
}

// Kinds are the registered kinds, ordered by name.
func Kinds() []Kind {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Kind, 0, len(registry.kinds))
	for _, k := range registry.kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(string(a.Name()), string(b.Name())) })
	return out
}

// Names are the registered kinds' names, ordered.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, string(k.Name()))
	}
	return out
}

// WebhookURL is the URL the product sends in's deliveries to.
func WebhookURL(publicURL string, k Kind, name string) string {
	return publicURL + "/webhooks/" + k.PathSegment() + "/" + name
}

// StatusEnv is what a kind's status poster may use: the operator's Cloud URL and
// the clients for hosts the operator chose and for hosts an API caller chose
// (the latter dials through Egress).
type StatusEnv struct {
	CloudAPIURL    string
	OperatorClient *http.Client
	CallerClient   *http.Client
	Egress         *egress.Policy
	// Agents reaches private://<pool> hosts through the pools' VCS agents (nil:
	// such a host is refused).
	Agents Agents
	// Options go to every client (retry policy, logger).
	Options []bitbucket.Option
}

// Reasons a *RefError reports.
const (
	// RefNotFound: the repository or the branch does not exist (or the credential
	// may not see it: Bitbucket answers 404 for both).
	RefNotFound = "not_found"
	// RefDenied: Bitbucket refused the integration's credential for the repository.
	RefDenied = "denied"
	// RefUnreachable: Bitbucket could not be asked (no connection, a server error or a
	// throttle): worth trying again later.
	RefUnreachable = "unreachable"
)

// RefError is why a kind could not read a branch of a repository. Message is shown
// to the API caller as is: it names namespace, repository and branch, and never the
// credential or what a caller-chosen host said.
type RefError struct {
	Reason  string
	Message string
	// Detail is the raw outcome, for the server log only.
	Detail string
}

func (e *RefError) Error() string { return e.Message }

// RepositoryChecker checks through an integration's credentials that a repository
// exists and is readable (BitbucketChecker asks the integration's kind). The error is
// a *RefError.
type RepositoryChecker interface {
	CheckRepository(ctx context.Context, in store.Integration, credential, namespace, repository string) error
}

// BranchReader reads a branch's head commit through an integration's credentials
// (BitbucketChecker asks the integration's kind). The error is a *RefError.
type BranchReader interface {
	BranchHead(ctx context.Context, in store.Integration, credential, namespace, repository, branch string) (string, error)
}
