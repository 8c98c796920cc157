package datacenter

import (
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// Webhook event keys orbit acts on or records (Bitbucket Data Center's X-Event-Key).
const (
	EventRefsChanged         = "repo:refs_changed"
	EventRepoModified        = "repo:modified"
	EventPROpened            = "pr:opened"
	EventPRFromRefUpdated    = "pr:from_ref_updated"
	EventPRModified          = "pr:modified"
	EventPRReviewerApproved  = "pr:reviewer:approved"
	EventPRReviewerUnapprove = "pr:reviewer:unapproved"
	EventPRMerged            = "pr:merged"
	EventPRDeclined          = "pr:declined"
	EventPRDeleted           = "pr:deleted"
	EventPRCommentAdded      = "pr:comment:added"
	// EventPing is the unsigned "Test connection" request, body {"test": true}.
	EventPing = "diagnostics:ping"
	// EventProjectModified is sent by project webhooks only; its old and new are
	// projects.
	EventProjectModified = "project:modified"
)

// Why the documented events orbit does not act on start nothing (the delivery record
// says so).
const (
	reasonReview    = "a review of a pull request starts no run"
	reasonPRComment = "comment activity on a pull request starts no run"
	reasonComment   = "a commit comment starts no run"
	reasonUnknown   = "the event key is not one Bitbucket Data Center documents"
)

// webhookEvents maps every documented event key (WebhookEvents, the test ping and
// project:modified) to the kind orbit reads it as; an empty kind is an ignored event
// and the text says why.
var webhookEvents = map[string]struct {
	kind   bitbucket.EventKind
	reason string
}{
	EventRefsChanged:         {kind: bitbucket.EventPush},
	EventRepoModified:        {kind: bitbucket.EventRepositoryUpdated},
	EventPROpened:            {kind: bitbucket.EventPullRequestOpened},
	EventPRFromRefUpdated:    {kind: bitbucket.EventPullRequestSourceMoved},
	EventPRModified:          {kind: bitbucket.EventPullRequestModified},
	EventPRReviewerApproved:  {kind: bitbucket.EventPullRequestApproved},
	EventPRReviewerUnapprove: {kind: bitbucket.EventPullRequestUnapproved},
	EventPRMerged:            {kind: bitbucket.EventPullRequestMerged},
	EventPRDeclined:          {kind: bitbucket.EventPullRequestDeclined},
	EventPRDeleted:           {kind: bitbucket.EventPullRequestDeleted},
	EventPRCommentAdded:      {kind: bitbucket.EventPullRequestComment},
	EventPing:                {kind: bitbucket.EventPing},

	"pr:to_ref_updated":             {reason: "the target branch moved, not the source commit: no new run"},
	"pr:reviewer:updated":           {reason: reasonReview},
	"pr:reviewer:needs_work":        {reason: reasonReview},
	"pr:reviewer:changes_requested": {reason: reasonReview},
	"pr:comment:edited":             {reason: reasonPRComment},
	"pr:comment:deleted":            {reason: reasonPRComment},
	"repo:forked":                   {reason: "a fork starts no run: runs follow the bound repository's own pushes"},
	"repo:comment:added":            {reason: reasonComment},
	"repo:comment:edited":           {reason: reasonComment},
	"repo:comment:deleted":          {reason: reasonComment},
	"mirror:repo_synchronized":      {reason: "a mirror's synchronisation starts no run: the primary's repo:refs_changed does"},
	"repo:secret_detected":          {reason: "secret scanning findings start no run"},
	"build:status_updated":          {reason: "build statuses (orbit's own among them) start no run"},
	EventProjectModified:            {reason: "project events name no repository and start no run"},
}

// The wire shapes below hold only what orbit reads; everything else is ignored.
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
	RefID    string `json:"refId"`
	FromHash string `json:"fromHash"`
	ToHash   string `json:"toHash"`
	Type     string `json:"type"`
}

type payloadPullRequest struct {
	ID      int64       `json:"id"`
	Title   string      `json:"title"`
	FromRef *payloadRef `json:"fromRef"`
	ToRef   *payloadRef `json:"toRef"`
	Author  *struct {
		User *payloadUser `json:"user"`
	} `json:"author"`
}

// payloadUser is a Data Center user of a payload: actor, a pull request's
// author.user.
type payloadUser struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

func (u *payloadUser) name() string {
	if u == nil {
		return ""
	}
	return bitbucket.PersonName(u.DisplayName, u.Name)
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

// ref checks what runs and statuses need of a pull request and names its
// destination repository; reason says what is missing.
func (pr *payloadPullRequest) ref() (ref *bitbucket.PullRequestRef, project, slug, reason string) {
	switch {
	case pr == nil:
		return nil, "", "", "pullRequest is missing"
	case pr.ID <= 0:
		return nil, "", "", "pullRequest.id must be a positive number"
	case pr.FromRef == nil || !bitbucket.ValidRefName(pr.FromRef.branch()) || !bitbucket.IsCommitHash(pr.FromRef.LatestCommit):
		return nil, "", "", "pullRequest.fromRef must have an id and a latestCommit hash"
	case pr.ToRef == nil || !bitbucket.ValidRefName(pr.ToRef.branch()):
		return nil, "", "", "pullRequest.toRef must have an id"
	}
	project, slug, ok := pr.ToRef.Repository.names()
	if !ok {
		return nil, "", "", "pullRequest.toRef.repository with slug and project.key is missing"
	}
	ref = &bitbucket.PullRequestRef{
		ID:                pr.ID,
		SourceBranch:      pr.FromRef.branch(),
		SourceCommit:      pr.FromRef.LatestCommit,
		DestinationBranch: pr.ToRef.branch(),
		Title:             bitbucket.Title(pr.Title),
	}
	if pr.Author != nil {
		ref.Author = pr.Author.User.name()
	}
	return ref, project, slug, ""
}

// repositoryOf finds the repository an ignored event is about, wherever its payload
// keeps it: repository (pushes, forks, commit comments, mirror synchronisation),
// pullRequest.toRef.repository (pull request events), new (repo:modified),
// secretLocations[].repository (repo:secret_detected). It never fails: a field of
// another shape is passed over.
func repositoryOf(fields bitbucket.PayloadFields) (project, slug string, ok bool) {
	var repo *payloadRepository
	if fields.Decode("repository", &repo) == nil {
		if project, slug, ok = repo.names(); ok {
			return project, slug, true
		}
	}
	var pr struct {
		ToRef *payloadRef `json:"toRef"`
	}
	if fields.Decode("pullRequest", &pr) == nil && pr.ToRef != nil {
		if project, slug, ok = pr.ToRef.Repository.names(); ok {
			return project, slug, true
		}
	}
	var after *payloadRepository
	if fields.Decode("new", &after) == nil {
		if project, slug, ok = after.names(); ok {
			return project, slug, true
		}
	}
	var secrets []struct {
		Repository *payloadRepository `json:"repository"`
	}
	if fields.Decode("secretLocations", &secrets) == nil {
		for _, s := range secrets {
			if project, slug, ok = s.Repository.names(); ok {
				return project, slug, true
			}
		}
	}
	return "", "", false
}

// ParseWebhook reads a Bitbucket Data Center delivery body sent with X-Event-Key
// eventKey.
//
// Every well-formed delivery parses: the body is one JSON object and the key is set
// (diagnostics:ping needs nothing more). Events orbit acts on must carry what it
// reads: pushes their repository and changes; repo:modified the repository before
// (old) and after (new); pull request events the pull request with both refs and the
// destination repository (pullRequest.toRef.repository: they have no top-level
// repository). Every other key, documented or not, is an EventIgnored event with its
// reason and whatever repository and pull request it names. An error is a
// *bitbucket.PayloadError.
func ParseWebhook(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	ev := bitbucket.WebhookEvent{Product: bitbucket.ProductDataCenter, Key: eventKey}
	bad := func(reason string) (bitbucket.WebhookEvent, error) {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Product: bitbucket.ProductDataCenter, Event: eventKey, Reason: reason}
	}
	var fields bitbucket.PayloadFields
	if err := bitbucket.DecodeWebhook(bitbucket.ProductDataCenter, eventKey, body, &fields); err != nil {
		return bitbucket.WebhookEvent{}, err
	}
	ev.Actor = actorOf(fields)
	event, known := webhookEvents[eventKey]
	if !known {
		event.reason = reasonUnknown
	}
	ev.Kind = event.kind
	switch ev.Kind {
	case "":
		ev.Kind, ev.Reason = bitbucket.EventIgnored, event.reason
		if eventKey == EventProjectModified {
			var project struct {
				Key string `json:"key"`
			}
			if fields.Decode("new", &project) == nil && project.Key != "" && !strings.Contains(project.Key, "/") {
				ev.Namespace = project.Key
			}
			return ev, nil
		}
		ev.Namespace, ev.Repository, _ = repositoryOf(fields)
		var pr *payloadPullRequest
		if fields.Decode("pullRequest", &pr) == nil {
			ev.PullRequest, _, _, _ = pr.ref()
		}
		return ev, nil
	case bitbucket.EventPing:
		return ev, nil
	case bitbucket.EventPush:
		return parseRefsChanged(ev, fields)
	case bitbucket.EventRepositoryUpdated:
		var before, after *payloadRepository
		errOld, errNew := fields.Decode("old", &before), fields.Decode("new", &after)
		oldProject, oldSlug, okOld := before.names()
		newProject, newSlug, okNew := after.names()
		if errOld != nil || errNew != nil || !okOld || !okNew {
			return bad("old and new must be repositories with slug and project.key")
		}
		ev.Namespace, ev.Repository = newProject, newSlug
		if oldProject != newProject || oldSlug != newSlug {
			ev.Rename = &bitbucket.RepositoryRename{OldNamespace: oldProject, OldRepository: oldSlug,
				NewNamespace: newProject, NewRepository: newSlug}
		}
		return ev, nil
	}

	// A pull request event.
	var pr *payloadPullRequest
	if err := fields.Decode("pullRequest", &pr); err != nil {
		return bad("pullRequest must be an object")
	}
	ref, project, slug, reason := pr.ref()
	if ref == nil {
		return bad(reason)
	}
	ev.Namespace, ev.Repository, ev.PullRequest = project, slug, ref
	if ev.Kind == bitbucket.EventPullRequestSourceMoved {
		var previous string
		if fields.Decode("previousFromHash", &previous) == nil && bitbucket.IsCommitHash(previous) {
			ev.PullRequest.PreviousSourceCommit = previous
		}
	}
	return ev, nil
}

// parseRefsChanged reads repo:refs_changed: the branches moved, and what else the
// push changed (tags, deleted branches) for the record.
func parseRefsChanged(ev bitbucket.WebhookEvent, fields bitbucket.PayloadFields) (bitbucket.WebhookEvent, error) {
	bad := func(reason string) (bitbucket.WebhookEvent, error) {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Product: bitbucket.ProductDataCenter, Event: ev.Key, Reason: reason}
	}
	var repo *payloadRepository
	if err := fields.Decode("repository", &repo); err != nil {
		return bad("repository must be an object")
	}
	project, slug, ok := repo.names()
	if !ok {
		return bad("repository with slug and project.key is missing")
	}
	ev.Namespace, ev.Repository = project, slug
	var changes []payloadChange
	if err := fields.Decode("changes", &changes); err != nil || changes == nil {
		return bad("changes is missing")
	}
	for i, c := range changes {
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
			push := bitbucket.BranchPush{Branch: branch, Commit: c.ToHash}
			// A new branch (ADD) comes from the all-zero hash.
			if bitbucket.IsCommitHash(c.FromHash) && strings.Trim(c.FromHash, "0") != "" {
				push.Old = c.FromHash
			}
			ev.Pushes = append(ev.Pushes, push)
		}
	}
	return ev, nil
}
