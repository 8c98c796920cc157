package bitbucket

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// EventKind is what a webhook delivery means to orbit, whichever product sent it.
type EventKind string

const (
	// EventPush: branches moved (Cloud repo:push, DC repo:refs_changed). Pushes lists
	// them; deleted branches and tags are left out, so a push of only those is empty.
	EventPush EventKind = "push"
	// EventPullRequestOpened: Cloud pullrequest:created, DC pr:opened.
	EventPullRequestOpened EventKind = "pull_request_opened"
	// EventPullRequestUpdated: Cloud pullrequest:updated. The payload does not say
	// what changed; the source commit moved only when it differs from the last one seen.
	EventPullRequestUpdated EventKind = "pull_request_updated"
	// EventPullRequestSourceMoved: DC pr:from_ref_updated (new commits on the source).
	EventPullRequestSourceMoved EventKind = "pull_request_source_moved"
	// EventPullRequestModified: DC pr:modified (title, description or target; never
	// the source commit).
	EventPullRequestModified   EventKind = "pull_request_modified"
	EventPullRequestApproved   EventKind = "pull_request_approved"
	EventPullRequestUnapproved EventKind = "pull_request_unapproved"
	EventPullRequestComment    EventKind = "pull_request_comment"
	// EventPullRequestMerged: Cloud pullrequest:fulfilled, DC pr:merged.
	EventPullRequestMerged EventKind = "pull_request_merged"
	// EventPullRequestDeclined: Cloud pullrequest:rejected, DC pr:declined.
	EventPullRequestDeclined EventKind = "pull_request_declined"
	// EventPullRequestDeleted: DC pr:deleted (Cloud pull requests cannot be deleted).
	EventPullRequestDeleted EventKind = "pull_request_deleted"
	// EventRepositoryUpdated: Cloud repo:updated, DC repo:modified. Rename is set when
	// the repository's full name changed.
	EventRepositoryUpdated EventKind = "repository_updated"
	// EventPing: DC diagnostics:ping, the unsigned "test connection" request.
	EventPing EventKind = "ping"
	// EventIgnored: a well-formed delivery orbit does not act on (an issue, a fork, a
	// commit comment, a review request, an event key it does not know, ...); Reason
	// says why. Namespace and Repository are filled when the payload names one.
	EventIgnored EventKind = "ignored"
)

// ClosesPullRequest reports the kinds after which a pull request takes no more
// commits: merged, declined and deleted.
func (k EventKind) ClosesPullRequest() bool {
	return k == EventPullRequestMerged || k == EventPullRequestDeclined || k == EventPullRequestDeleted
}

// WebhookEvent is what orbit reads from one delivery.
type WebhookEvent struct {
	Product Product
	// Key is the X-Event-Key header.
	Key  string
	Kind EventKind
	// Namespace is the Cloud workspace slug or the DC project key; Repository the
	// repository slug. For pull requests: the destination repository.
	Namespace  string
	Repository string
	// Pushes are the branches a push moved to a new commit.
	Pushes []BranchPush
	// Skipped describes the ref changes of a push that start nothing (tags, deleted
	// branches), for the delivery record.
	Skipped []string
	// PullRequest is set for pull request events orbit acts on or records, and for
	// ignored pull request events whose pull request is well-formed.
	PullRequest *PullRequestRef
	// Rename is set for EventRepositoryUpdated when the repository's namespace or slug
	// changed; Namespace and Repository then name the new one.
	Rename *RepositoryRename
	// Reason says why an EventIgnored delivery starts nothing, for the delivery record.
	Reason string
	// Actor is who caused the event as the payload names them (Cloud actor, DC
	// actor; see PersonName), "" when it names nobody. Display only: nothing is
	// decided by it.
	Actor string
}

// RepositoryRename is a repository's name before and after a rename or move.
type RepositoryRename struct {
	OldNamespace, OldRepository string
	NewNamespace, NewRepository string
}

// BranchPush is one branch moved to Commit (the full hash) from Old ("" for a new
// branch).
type BranchPush struct {
	Branch string
	Commit string
	Old    string
}

// PullRequestRef is the part of a pull request that runs and statuses need.
type PullRequestRef struct {
	ID                int64
	SourceBranch      string
	SourceCommit      string // Cloud sends 12 hex digits, DC the full hash
	DestinationBranch string
	// PreviousSourceCommit is DC pr:from_ref_updated's previousFromHash.
	PreviousSourceCommit string
	// Title and Author (see PersonName) are shown with the runs of the pull
	// request; "" when the payload lacks them. Display only, capped (DisplayText).
	Title  string
	Author string
}

// Display caps: what a payload's names and titles may put on a run.
const (
	maxPersonName = 255
	maxTitle      = 1024
)

// DisplayText makes a payload's free text fit for a one-line display: control
// characters become spaces, runs of spaces one, and the result is capped at limit
// bytes ("… and N more bytes").
func DisplayText(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
	return textcap.String(s, limit)
}

// PersonName is how a payload's user shows on a run: the display name with the
// handle (Cloud nickname or username, DC name) in parentheses when they differ,
// or whichever of the two is set. E-mail addresses are never used.
func PersonName(display, handle string) string {
	display, handle = DisplayText(display, maxPersonName), DisplayText(handle, maxPersonName)
	switch {
	case display == "" || display == handle:
		return handle
	case handle == "":
		return display
	}
	return DisplayText(display+" ("+handle+")", maxPersonName)
}

// Title is a pull request's title fit for display (DisplayText).
func Title(s string) string { return DisplayText(s, maxTitle) }

// PayloadError says why a body does not have the product's webhook shape. It quotes
// no value from the body.
type PayloadError struct {
	Product Product
	Event   string
	Reason  string
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("bitbucket %s %s payload: %s", e.Product, e.Event, e.Reason)
}

// IsCommitHash reports a plausible git commit id: 7 to 64 hex digits (Cloud pull
// request payloads carry 12, full SHA-1 ids are 40, SHA-256 ids 64).
func IsCommitHash(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ValidRefName rejects names no git ref can have (empty, control characters, too long);
// it is a sanity check on payload values, not git's full rule.
func ValidRefName(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// PayloadFields is a webhook body's top-level object, each field still raw, so that
// a parser decodes only the fields its event needs: a field of an unexpected shape
// fails the events that read it and no other.
type PayloadFields map[string]json.RawMessage

// Decode decodes the field name into dst; a missing field leaves dst untouched and
// is no error.
func (f PayloadFields) Decode(name string, dst any) error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// DecodeWebhook is the envelope check both products' parsers share: an event key is
// present and the body is one JSON object that decodes into payload. Its error is a
// *PayloadError for product and eventKey.
func DecodeWebhook(product Product, eventKey string, body []byte, payload any) error {
	bad := func(reason string) error { return &PayloadError{Product: product, Event: eventKey, Reason: reason} }
	if eventKey == "" {
		return bad("the X-Event-Key header is missing")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return bad("the body is not a JSON object")
	}
	if err := json.Unmarshal(body, payload); err != nil {
		return bad("the body is not valid JSON of the expected shape")
	}
	return nil
}
