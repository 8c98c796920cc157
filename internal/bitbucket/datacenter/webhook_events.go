package datacenter

import (
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// Webhook event keys orbit acts on or records (Bitbucket Data Center's X-Event-Key).
const (
	EventRefsChanged         = "repo:refs_changed"
	EventPROpened            = "pr:opened"
	EventPRFromRefUpdated    = "pr:from_ref_updated"
	EventPRModified          = "pr:modified"
	EventPRReviewerApproved  = "pr:reviewer:approved"
	EventPRReviewerUnapprove = "pr:reviewer:unapproved"
	EventPRMerged            = "pr:merged"
	EventPRDeclined          = "pr:declined"
	EventPRCommentAdded      = "pr:comment:added"
	// EventPing is the unsigned "Test connection" request, body {"test": true}.
	EventPing = "diagnostics:ping"
)

var pullRequestKinds = map[string]bitbucket.EventKind{
	EventPROpened:            bitbucket.EventPullRequestOpened,
	EventPRFromRefUpdated:    bitbucket.EventPullRequestSourceMoved,
	EventPRModified:          bitbucket.EventPullRequestModified,
	EventPRReviewerApproved:  bitbucket.EventPullRequestApproved,
	EventPRReviewerUnapprove: bitbucket.EventPullRequestUnapproved,
	EventPRMerged:            bitbucket.EventPullRequestMerged,
	EventPRDeclined:          bitbucket.EventPullRequestDeclined,
	EventPRCommentAdded:      bitbucket.EventPullRequestComment,
}

// The wire shapes below hold only what orbit reads; everything else is ignored.
type webhookPayload struct {
	Repository       *payloadRepository  `json:"repository"`
	Changes          []payloadChange     `json:"changes"`
	PullRequest      *payloadPullRequest `json:"pullRequest"`
	PreviousFromHash string              `json:"previousFromHash"`
}

type payloadRepository struct {
	Slug    string `json:"slug"`
	Project *struct {
		Key string `json:"key"`
	} `json:"project"`
}

func (r *payloadRepository) names() (project, slug string, ok bool) {
	if r == nil || r.Project == nil || r.Project.Key == "" || r.Slug == "" ||
		strings.Contains(r.Slug, "/") || strings.Contains(r.Project.Key, "/") {
		return "", "", false
	}
	return r.Project.Key, r.Slug, true
}

type payloadChange struct {
	Ref *struct {
		ID        string `json:"id"`
		DisplayID string `json:"displayId"`
		Type      string `json:"type"`
	} `json:"ref"`
	RefID  string `json:"refId"`
	ToHash string `json:"toHash"`
	Type   string `json:"type"`
}

type payloadPullRequest struct {
	ID      int64       `json:"id"`
	FromRef *payloadRef `json:"fromRef"`
	ToRef   *payloadRef `json:"toRef"`
}

type payloadRef struct {
	ID           string             `json:"id"`
	DisplayID    string             `json:"displayId"`
	LatestCommit string             `json:"latestCommit"`
	Repository   *payloadRepository `json:"repository"`
}

func (r *payloadRef) branch() string {
	if name, ok := strings.CutPrefix(r.ID, "refs/heads/"); ok {
		return name
	}
	return r.DisplayID
}

// ParseWebhook reads a Bitbucket Data Center delivery body sent with X-Event-Key
// eventKey. diagnostics:ping needs only a JSON object. Pushes must name their
// repository and list their changes; pull request events carry the pull request with
// both refs and the destination repository. An error is a *bitbucket.PayloadError.
func ParseWebhook(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	ev := bitbucket.WebhookEvent{Product: bitbucket.ProductDataCenter, Key: eventKey, Kind: bitbucket.EventOther}
	bad := func(reason string) (bitbucket.WebhookEvent, error) {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Product: bitbucket.ProductDataCenter, Event: eventKey, Reason: reason}
	}
	var p webhookPayload
	if err := bitbucket.DecodeWebhook(bitbucket.ProductDataCenter, eventKey, body, &p); err != nil {
		return bitbucket.WebhookEvent{}, err
	}
	if eventKey == EventPing {
		ev.Kind = bitbucket.EventPing
		return ev, nil
	}

	kind, isPR := pullRequestKinds[eventKey]
	if !isPR {
		project, slug, ok := p.Repository.names()
		if !ok {
			return bad("repository with slug and project.key is missing")
		}
		ev.Namespace, ev.Repository = project, slug
		if eventKey != EventRefsChanged {
			return ev, nil
		}
		ev.Kind = bitbucket.EventPush
		if p.Changes == nil {
			return bad("changes is missing")
		}
		for i, c := range p.Changes {
			refID := c.RefID
			refType := ""
			if c.Ref != nil {
				refType = c.Ref.Type
				if refID == "" {
					refID = c.Ref.ID
				}
			}
			if !bitbucket.ValidRefName(refID) {
				return bad("changes[" + strconv.Itoa(i) + "] must have a ref id")
			}
			branch, isBranch := strings.CutPrefix(refID, "refs/heads/")
			switch {
			case c.Type == "DELETE":
				ev.Skipped = append(ev.Skipped, refID+" deleted")
			case !isBranch || (refType != "" && refType != "BRANCH"):
				ev.Skipped = append(ev.Skipped, refID)
			case !bitbucket.ValidRefName(branch):
				return bad("changes[" + strconv.Itoa(i) + "].refId must name a branch after refs/heads/")
			case !bitbucket.IsCommitHash(c.ToHash):
				return bad("changes[" + strconv.Itoa(i) + "].toHash must be a commit hash")
			default:
				ev.Pushes = append(ev.Pushes, bitbucket.BranchPush{Branch: branch, Commit: c.ToHash})
			}
		}
		return ev, nil
	}

	ev.Kind = kind
	pr := p.PullRequest
	if pr == nil {
		return bad("pullRequest is missing")
	}
	if pr.ID <= 0 {
		return bad("pullRequest.id must be a positive number")
	}
	if pr.FromRef == nil || !bitbucket.ValidRefName(pr.FromRef.branch()) || !bitbucket.IsCommitHash(pr.FromRef.LatestCommit) {
		return bad("pullRequest.fromRef must have an id and a latestCommit hash")
	}
	if pr.ToRef == nil || !bitbucket.ValidRefName(pr.ToRef.branch()) {
		return bad("pullRequest.toRef must have an id")
	}
	project, slug, ok := pr.ToRef.Repository.names()
	if !ok {
		return bad("pullRequest.toRef.repository with slug and project.key is missing")
	}
	ev.Namespace, ev.Repository = project, slug
	ev.PullRequest = &bitbucket.PullRequestRef{
		ID:                pr.ID,
		SourceBranch:      pr.FromRef.branch(),
		SourceCommit:      pr.FromRef.LatestCommit,
		DestinationBranch: pr.ToRef.branch(),
	}
	if kind == bitbucket.EventPullRequestSourceMoved && bitbucket.IsCommitHash(p.PreviousFromHash) {
		ev.PullRequest.PreviousSourceCommit = p.PreviousFromHash
	}
	return ev, nil
}
