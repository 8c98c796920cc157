package vcs

import "github.com/orbit-iac/terraform-provider-orbit/internal/server/store"

// LinkBuilder is what a kind may implement besides Kind: the pages a person opens
// for a branch, a commit and a pull request of a repository, on the product's
// user-facing host (b names the repository as RepositoryURL takes it). A kind
// without it gets only RepositoryURL's link on a run page.
type LinkBuilder interface {
	BranchURL(b store.StackBinding, branch string) string
	CommitURL(b store.StackBinding, commit string) string
	PullRequestURL(b store.StackBinding, id int64) string
}
