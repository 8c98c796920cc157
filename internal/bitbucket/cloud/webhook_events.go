package cloud

import (
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// Webhook event keys orbit acts on or records (Bitbucket Cloud's X-Event-Key values).
const (
	EventRepoPush                  = "repo:push"
	EventPullRequestCreated        = "pullrequest:created"
	EventPullRequestUpdated        = "pullrequest:updated"
	EventPullRequestApproved       = "pullrequest:approved"
	EventPullRequestUnapproved     = "pullrequest:unapproved"
	EventPullRequestFulfilled      = "pullrequest:fulfilled"
	EventPullRequestRejected       = "pullrequest:rejected"
	EventPullRequestCommentCreated = "pullrequest:comment_created"
)

var pullRequestKinds = map[string]bitbucket.EventKind{
	EventPullRequestCreated:        bitbucket.EventPullRequestOpened,
	EventPullRequestUpdated:        bitbucket.EventPullRequestUpdated,
	EventPullRequestApproved:       bitbucket.EventPullRequestApproved,
	EventPullRequestUnapproved:     bitbucket.EventPullRequestUnapproved,
	EventPullRequestFulfilled:      bitbucket.EventPullRequestMerged,
	EventPullRequestRejected:       bitbucket.EventPullRequestDeclined,
	EventPullRequestCommentCreated: bitbucket.EventPullRequestComment,
}

// The wire shapes below hold only what orbit reads; everything else is ignored.
type webhookPayload struct {
	Repository  *payloadRepository  `json:"repository"`
	Push        *payloadPush        `json:"push"`
	PullRequest *payloadPullRequest `json:"pullrequest"`
}

type payloadRepository struct {
	FullName string `json:"full_name"`
}

type payloadPush struct {
	Changes []payloadChange `json:"changes"`
}

type payloadChange struct {
	New *payloadRef `json:"new"`
	Old *payloadRef `json:"old"`
}

type payloadRef struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Target *struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

type payloadPullRequest struct {
	ID          int64         `json:"id"`
	Source      payloadPRSide `json:"source"`
	Destination payloadPRSide `json:"destination"`
}

type payloadPRSide struct {
	Branch *struct {
		Name string `json:"name"`
	} `json:"branch"`
	Commit *struct {
		Hash string `json:"hash"`
	} `json:"commit"`
}

// ParseWebhook reads a Bitbucket Cloud delivery body sent with X-Event-Key eventKey.
// Every body must be a JSON object naming its repository ("workspace/slug"); pushes
// must list their changes and pull request events carry the pull request's id,
// branches and source commit. An error is a *bitbucket.PayloadError.
func ParseWebhook(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	ev := bitbucket.WebhookEvent{Product: bitbucket.ProductCloud, Key: eventKey, Kind: bitbucket.EventOther}
	bad := func(reason string) (bitbucket.WebhookEvent, error) {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Product: bitbucket.ProductCloud, Event: eventKey, Reason: reason}
	}
	var p webhookPayload
	if err := bitbucket.DecodeWebhook(bitbucket.ProductCloud, eventKey, body, &p); err != nil {
		return bitbucket.WebhookEvent{}, err
	}
	if p.Repository == nil {
		return bad("repository is missing")
	}
	workspace, slug, ok := strings.Cut(p.Repository.FullName, "/")
	if !ok || workspace == "" || slug == "" || strings.Contains(slug, "/") {
		return bad(`repository.full_name must be "workspace/repository"`)
	}
	ev.Namespace, ev.Repository = workspace, slug

	if eventKey == EventRepoPush {
		ev.Kind = bitbucket.EventPush
		if p.Push == nil || p.Push.Changes == nil {
			return bad("push.changes is missing")
		}
		for i, c := range p.Push.Changes {
			if c.New == nil {
				if c.Old != nil && c.Old.Name != "" {
					ev.Skipped = append(ev.Skipped, c.Old.Type+" "+c.Old.Name+" deleted")
				}
				continue
			}
			if !bitbucket.ValidRefName(c.New.Name) || c.New.Target == nil || !bitbucket.IsCommitHash(c.New.Target.Hash) {
				return bad("push.changes[" + strconv.Itoa(i) + "].new must have a name and a target commit hash")
			}
			switch c.New.Type {
			case "branch", "named_branch":
				ev.Pushes = append(ev.Pushes, bitbucket.BranchPush{Branch: c.New.Name, Commit: c.New.Target.Hash})
			default: // tags and bookmarks start nothing
				ev.Skipped = append(ev.Skipped, c.New.Type+" "+c.New.Name)
			}
		}
		return ev, nil
	}

	kind, isPR := pullRequestKinds[eventKey]
	if !isPR {
		return ev, nil
	}
	ev.Kind = kind
	pr := p.PullRequest
	if pr == nil {
		return bad("pullrequest is missing")
	}
	if pr.ID <= 0 {
		return bad("pullrequest.id must be a positive number")
	}
	if pr.Source.Branch == nil || !bitbucket.ValidRefName(pr.Source.Branch.Name) ||
		pr.Source.Commit == nil || !bitbucket.IsCommitHash(pr.Source.Commit.Hash) {
		return bad("pullrequest.source must have a branch name and a commit hash")
	}
	if pr.Destination.Branch == nil || !bitbucket.ValidRefName(pr.Destination.Branch.Name) {
		return bad("pullrequest.destination must have a branch name")
	}
	ev.PullRequest = &bitbucket.PullRequestRef{
		ID:                pr.ID,
		SourceBranch:      pr.Source.Branch.Name,
		SourceCommit:      pr.Source.Commit.Hash,
		DestinationBranch: pr.Destination.Branch.Name,
	}
	return ev, nil
}
