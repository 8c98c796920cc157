package cloud

// HookEvents are the event keys a Bitbucket Cloud repository hook may subscribe to:
// the enum of webhook_subscription.events in Atlassian's description.
var HookEvents = []string{
	"issue:comment_created", "issue:created", "issue:updated", "pipeline:span_created",
	"project:updated", "pullrequest:approved", "pullrequest:changes_request_created",
	"pullrequest:changes_request_removed", "pullrequest:comment_created",
	"pullrequest:comment_deleted", "pullrequest:comment_reopened", "pullrequest:comment_resolved",
	"pullrequest:comment_updated", "pullrequest:created", "pullrequest:fulfilled",
	"pullrequest:push", "pullrequest:rejected", "pullrequest:unapproved", "pullrequest:updated",
	"repo:commit_comment_created", "repo:commit_status_created", "repo:commit_status_updated",
	"repo:created", "repo:deleted", "repo:fork", "repo:imported", "repo:push", "repo:transfer",
	"repo:updated",
}

// RequiredEvents are the triggers Orbit needs from a Cloud repository (API.md, "Required events"):
// pushes, pull request life cycle, approvals and comments. pullrequest:rejected (a
// declined pull request) is among them on purpose, although a person setting up a
// CI hook in the UI rarely ticks it: without it, the proposed runs of a declined pull
// request stay queued and their statuses INPROGRESS for ever. repo:updated is in for the
// same reason: it reports a rename or move of the repository, which the bindings
// follow; without it, pushes to the renamed repository start nothing.
func RequiredEvents() []string {
	return []string{
		"repo:push", "repo:updated", "pullrequest:created", "pullrequest:updated", "pullrequest:approved",
		"pullrequest:unapproved", "pullrequest:fulfilled", "pullrequest:rejected", "pullrequest:comment_created",
	}
}
