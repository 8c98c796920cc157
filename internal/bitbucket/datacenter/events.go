package datacenter

// WebhookEvents are the event keys Bitbucket Data Center 9.x accepts on a repository
// webhook (its description types events as plain strings; these are the documented
// keys).
var WebhookEvents = []string{
	"repo:refs_changed", "repo:modified", "repo:forked", "repo:comment:added",
	"repo:comment:edited", "repo:comment:deleted", "repo:secret_detected",
	"mirror:repo_synchronized", "pr:opened", "pr:from_ref_updated", "pr:to_ref_updated",
	"pr:modified", "pr:reviewer:updated", "pr:reviewer:approved", "pr:reviewer:unapproved",
	"pr:reviewer:needs_work", "pr:reviewer:changes_requested", "pr:merged", "pr:declined",
	"pr:deleted", "pr:comment:added", "pr:comment:edited", "pr:comment:deleted",
	"build:status_updated",
}

// RequiredEvents are the triggers Orbit needs from a Data Center repository (API.md, "Required events").
// pr:reviewer:changes_requested and pr:to_ref_updated are left out on purpose: some
// server versions reject them and fail the whole create. pr:declined and pr:deleted
// are in on purpose, although a person setting up a CI hook in the UI rarely ticks
// them: without them, the proposed runs of a declined or deleted pull request stay
// queued and their statuses INPROGRESS for ever. repo:modified is in for the same
// reason: it reports a rename or move of the repository, which the bindings follow;
// without it, pushes to the renamed repository start nothing.
func RequiredEvents() []string {
	return []string{
		"repo:refs_changed", "repo:modified", "pr:opened", "pr:from_ref_updated", "pr:modified",
		"pr:reviewer:approved", "pr:reviewer:unapproved", "pr:merged", "pr:declined", "pr:deleted", "pr:comment:added",
	}
}
