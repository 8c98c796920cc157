package cloud

import (
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// Webhook event keys orbit acts on or records (Bitbucket Cloud's X-Event-Key values).
const (
	EventRepoPush                  = "repo:push"
	EventRepoUpdated               = "repo:updated"
	EventPullRequestCreated        = "pullrequest:created"
	EventPullRequestUpdated        = "pullrequest:updated"
	EventPullRequestApproved       = "pullrequest:approved"
	EventPullRequestUnapproved     = "pullrequest:unapproved"
	EventPullRequestFulfilled      = "pullrequest:fulfilled"
	EventPullRequestRejected       = "pullrequest:rejected"
	EventPullRequestCommentCreated = "pullrequest:comment_created"
)

// Why the documented events orbit does not act on start nothing (the delivery record
// says so).
const (
	reasonReview      = "a review of a pull request starts no run"
	reasonPRComment   = "comment activity on a pull request starts no run"
	reasonIssue       = "issue tracker events start no run"
	reasonStatus      = "commit statuses (orbit's own among them) start no run"
	reasonUnknown     = "the event key is not one Bitbucket Cloud documents"
	reasonPRPush      = "pullrequest:push is not described in Bitbucket's event payloads; pullrequest:updated reports new source commits"
	reasonPipelineRun = "Bitbucket Pipelines events start no run"
)

// webhookEvents maps every event key a Cloud repository hook can subscribe to (the
// enum of HookEvents) to the kind orbit reads it as; an empty kind is an ignored
// event and the text says why.
var webhookEvents = map[string]struct {
	kind   bitbucket.EventKind
	reason string
}{
	EventRepoPush:                  {kind: bitbucket.EventPush},
	EventRepoUpdated:               {kind: bitbucket.EventRepositoryUpdated},
	EventPullRequestCreated:        {kind: bitbucket.EventPullRequestOpened},
	EventPullRequestUpdated:        {kind: bitbucket.EventPullRequestUpdated},
	EventPullRequestApproved:       {kind: bitbucket.EventPullRequestApproved},
	EventPullRequestUnapproved:     {kind: bitbucket.EventPullRequestUnapproved},
	EventPullRequestFulfilled:      {kind: bitbucket.EventPullRequestMerged},
	EventPullRequestRejected:       {kind: bitbucket.EventPullRequestDeclined},
	EventPullRequestCommentCreated: {kind: bitbucket.EventPullRequestComment},

	"pullrequest:changes_request_created": {reason: reasonReview},
	"pullrequest:changes_request_removed": {reason: reasonReview},
	"pullrequest:comment_updated":         {reason: reasonPRComment},
	"pullrequest:comment_deleted":         {reason: reasonPRComment},
	"pullrequest:comment_resolved":        {reason: reasonPRComment},
	"pullrequest:comment_reopened":        {reason: reasonPRComment},
	"pullrequest:push":                    {reason: reasonPRPush},
	"repo:fork":                           {reason: "a fork starts no run: runs follow the bound repository's own pushes"},
	"repo:transfer":                       {reason: "a transfer to another workspace is recorded only; bindings keep the workspace they name"},
	"repo:created":                        {reason: "a repository creation starts no run"},
	"repo:imported":                       {reason: "a repository import starts no run"},
	"repo:deleted":                        {reason: "a repository deletion is recorded only; its bindings stay until removed"},
	"repo:commit_comment_created":         {reason: "a commit comment starts no run"},
	"repo:commit_status_created":          {reason: reasonStatus},
	"repo:commit_status_updated":          {reason: reasonStatus},
	"issue:created":                       {reason: reasonIssue},
	"issue:updated":                       {reason: reasonIssue},
	"issue:comment_created":               {reason: reasonIssue},
	"project:updated":                     {reason: "project events name no repository and start no run"},
	"pipeline:span_created":               {reason: reasonPipelineRun},
}

// The wire shapes below hold only what orbit reads; everything else is ignored.
type payloadRepository struct {
	FullName string `json:"full_name"`
}

// splitFullName splits "workspace/slug".
func splitFullName(fullName string) (workspace, slug string, ok bool) {
	workspace, slug, ok = strings.Cut(fullName, "/")
	if !ok || workspace == "" || slug == "" || strings.Contains(slug, "/") {
		return "", "", false
	}
	return workspace, slug, true
}

func (r *payloadRepository) names() (workspace, slug string, ok bool) {
	if r == nil {
		return "", "", false
	}
	return splitFullName(r.FullName)
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
	Title       string        `json:"title"`
	Author      *payloadUser  `json:"author"`
	Source      payloadPRSide `json:"source"`
	Destination payloadPRSide `json:"destination"`
}

// payloadUser is a Cloud user (or team) of a payload: actor, a pull request's
// author. Current payloads carry display_name and nickname; older ones username.
type payloadUser struct {
	DisplayName string `json:"display_name"`
	Nickname    string `json:"nickname"`
	Username    string `json:"username"`
}

func (u *payloadUser) name() string {
	if u == nil {
		return ""
	}
	handle := u.Nickname
	if handle == "" {
		handle = u.Username
	}
	return bitbucket.PersonName(u.DisplayName, handle)
}

// actorOf is who caused the event; a missing or odd actor is "" (display only,
// never a reason to refuse a delivery).
func actorOf(fields bitbucket.PayloadFields) string {
	var actor *payloadUser
	if fields.Decode("actor", &actor) != nil {
		return ""
	}
	return actor.name()
}

type payloadPRSide struct {
	Branch *struct {
		Name string `json:"name"`
	} `json:"branch"`
	Commit *struct {
		Hash string `json:"hash"`
	} `json:"commit"`
	Repository *payloadRepository `json:"repository"`
}

// ref checks what runs and statuses need of a pull request; reason says what is
// missing.
func (pr *payloadPullRequest) ref() (ref *bitbucket.PullRequestRef, reason string) {
	switch {
	case pr == nil:
		return nil, "pullrequest is missing"
	case pr.ID <= 0:
		return nil, "pullrequest.id must be a positive number"
	case pr.Source.Branch == nil || !bitbucket.ValidRefName(pr.Source.Branch.Name) ||
		pr.Source.Commit == nil || !bitbucket.IsCommitHash(pr.Source.Commit.Hash):
		return nil, "pullrequest.source must have a branch name and a commit hash"
	case pr.Destination.Branch == nil || !bitbucket.ValidRefName(pr.Destination.Branch.Name):
		return nil, "pullrequest.destination must have a branch name"
	}
	return &bitbucket.PullRequestRef{
		ID:                pr.ID,
		SourceBranch:      pr.Source.Branch.Name,
		SourceCommit:      pr.Source.Commit.Hash,
		DestinationBranch: pr.Destination.Branch.Name,
		Title:             bitbucket.Title(pr.Title),
		Author:            pr.Author.name(),
	}, ""
}

// repoUpdatedChanges is repo:updated's changes: each changed attribute with its old
// and new value; only the full name matters to orbit.
type repoUpdatedChanges struct {
	FullName *struct {
		Old string `json:"old"`
		New string `json:"new"`
	} `json:"full_name"`
}

// ParseWebhook reads a Bitbucket Cloud delivery body sent with X-Event-Key eventKey.
//
// Every well-formed delivery parses: the body is one JSON object and the key is set.
// Events orbit acts on must carry what it reads (the repository's "workspace/slug";
// for pushes the changes; for pull request events the pull request's id, branches and
// source commit). Every other key, documented or not, is an EventIgnored event with
// its reason and whatever repository and pull request it names. An error is a
// *bitbucket.PayloadError.
func ParseWebhook(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	ev := bitbucket.WebhookEvent{Product: bitbucket.ProductCloud, Key: eventKey}
	bad := func(reason string) (bitbucket.WebhookEvent, error) {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Product: bitbucket.ProductCloud, Event: eventKey, Reason: reason}
	}
	var fields bitbucket.PayloadFields
	if err := bitbucket.DecodeWebhook(bitbucket.ProductCloud, eventKey, body, &fields); err != nil {
		return bitbucket.WebhookEvent{}, err
	}
	ev.Actor = actorOf(fields)
	var repo *payloadRepository
	repoErr := fields.Decode("repository", &repo)
	var pr *payloadPullRequest
	prErr := fields.Decode("pullrequest", &pr)

	event, known := webhookEvents[eventKey]
	if !known {
		event.reason = reasonUnknown
	}
	if event.kind == "" {
		ev.Kind, ev.Reason = bitbucket.EventIgnored, event.reason
		if repoErr == nil {
			ev.Namespace, ev.Repository, _ = repo.names()
		}
		if prErr == nil {
			ev.PullRequest, _ = pr.ref()
			if ev.Repository == "" && pr != nil {
				ev.Namespace, ev.Repository, _ = pr.Destination.Repository.names()
			}
		}
		if ev.Repository == "" {
			ev.Namespace = ""
		}
		return ev, nil
	}

	ev.Kind = event.kind
	if repoErr != nil {
		return bad("repository must be an object")
	}
	var ok bool
	if ev.Namespace, ev.Repository, ok = repo.names(); !ok {
		if repo == nil {
			return bad("repository is missing")
		}
		return bad(`repository.full_name must be "workspace/repository"`)
	}

	switch ev.Kind {
	case bitbucket.EventPush:
		var push *payloadPush
		if err := fields.Decode("push", &push); err != nil || push == nil || push.Changes == nil {
			return bad("push.changes is missing")
		}
		for i, c := range push.Changes {
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
				push := bitbucket.BranchPush{Branch: c.New.Name, Commit: c.New.Target.Hash}
				if c.Old != nil && c.Old.Target != nil && bitbucket.IsCommitHash(c.Old.Target.Hash) {
					push.Old = c.Old.Target.Hash
				}
				ev.Pushes = append(ev.Pushes, push)
			default: // tags and bookmarks start nothing
				ev.Skipped = append(ev.Skipped, c.New.Type+" "+c.New.Name)
			}
		}
		return ev, nil
	case bitbucket.EventRepositoryUpdated:
		var changes *repoUpdatedChanges
		if err := fields.Decode("changes", &changes); err != nil {
			return bad("changes must be an object")
		}
		if changes == nil || changes.FullName == nil || changes.FullName.Old == changes.FullName.New {
			return ev, nil // a description, language, website or main branch change
		}
		oldWorkspace, oldSlug, okOld := splitFullName(changes.FullName.Old)
		newWorkspace, newSlug, okNew := splitFullName(changes.FullName.New)
		if !okOld || !okNew {
			return bad(`changes.full_name.old and .new must be "workspace/repository"`)
		}
		ev.Rename = &bitbucket.RepositoryRename{OldNamespace: oldWorkspace, OldRepository: oldSlug,
			NewNamespace: newWorkspace, NewRepository: newSlug}
		return ev, nil
	}

	// A pull request event.
	if prErr != nil {
		return bad("pullrequest must be an object")
	}
	ref, reason := pr.ref()
	if ref == nil {
		return bad(reason)
	}
	ev.PullRequest = ref
	return ev, nil
}
