// Package access is what a Bitbucket credential must be allowed to do, operation by
// operation, as Atlassian's OpenAPI descriptions say it (testdata/bitbucket/openapi):
// Bitbucket Cloud's `x-atlassian-oauth2-scopes` of each operation, and the permission
// each Bitbucket Data Center operation's description names ("The authenticated user
// must have REPO_READ permission ..."). It is the one table of it: orbit-server's
// credential checks, the Bitbucket sandbox (which enforces it per route) and the
// provider's documentation read it, and a test holds every row to the descriptions.
//
// It imports nothing of the project.
package access

import (
	"slices"
	"strings"
)

// Operation is one REST operation and what a credential needs to call it.
type Operation struct {
	Method string
	// Path is the operation's path in the description: Cloud without the /2.0
	// prefix, Data Center as /api/latest/....
	Path string
	// Scopes (Cloud) are the operation's x-atlassian-oauth2-scopes: a token needs
	// every one of them (Atlassian's API token scopes do not imply one another).
	Scopes []string
	// Permission (Data Center) is the permission the operation's description names,
	// "" where it names none.
	Permission string
	// Use says what orbit-server does with the operation when it calls it with an
	// integration's stored credential; "" for an operation only the provider or the
	// sandbox's other clients call.
	Use string
}

// Scopes of Bitbucket Cloud API tokens, as Atlassian names them.
const (
	ReadUser        = "read:user:bitbucket"
	ReadWorkspace   = "read:workspace:bitbucket"
	ReadRepository  = "read:repository:bitbucket"
	ReadPullRequest = "read:pullrequest:bitbucket"
	ReadWebhook     = "read:webhook:bitbucket"
	WriteWebhook    = "write:webhook:bitbucket"
	DeleteWebhook   = "delete:webhook:bitbucket"
)

// Permissions of Bitbucket Data Center, as its descriptions name them.
const (
	RepoRead    = "REPO_READ"
	RepoAdmin   = "REPO_ADMIN"
	ProjectView = "PROJECT_VIEW"
)

const cloudRepo = "/repositories/{workspace}/{repo_slug}"

// Cloud is every Bitbucket Cloud operation the project calls (orbit-server, the
// provider, the sandbox's routes).
var Cloud = []Operation{
	{Method: "GET", Path: "/user", Scopes: []string{ReadUser}, Use: "check the credential (the account it authenticates as)"},
	{Method: "GET", Path: "/user/emails", Scopes: []string{ReadUser}},
	{Method: "GET", Path: "/user/workspaces", Scopes: []string{ReadWorkspace}},
	{Method: "GET", Path: "/user/permissions/workspaces", Scopes: []string{ReadWorkspace, ReadUser}},
	{Method: "GET", Path: "/workspaces", Scopes: []string{ReadUser, ReadWorkspace}},
	{Method: "GET", Path: "/workspaces/{workspace}", Scopes: []string{ReadWorkspace}},
	{Method: "GET", Path: "/repositories/{workspace}", Scopes: []string{ReadRepository}},
	{Method: "GET", Path: cloudRepo, Scopes: []string{ReadRepository}, Use: "check a bound repository; find its main branch"},
	{Method: "GET", Path: cloudRepo + "/refs/branches", Scopes: []string{ReadRepository}},
	{Method: "GET", Path: cloudRepo + "/refs/branches/{name}", Scopes: []string{ReadRepository}, Use: "read a branch's head (manual trigger)"},
	{Method: "GET", Path: cloudRepo + "/branching-model", Scopes: []string{ReadRepository}},
	{Method: "GET", Path: cloudRepo + "/diffstat/{spec}", Scopes: []string{ReadRepository}, Use: "list a push's changed paths"},
	{Method: "GET", Path: cloudRepo + "/pullrequests/{pull_request_id}/diffstat", Scopes: []string{ReadPullRequest}, Use: "list a pull request's changed paths"},
	{Method: "GET", Path: cloudRepo + "/hooks", Scopes: []string{ReadWebhook}},
	{Method: "POST", Path: cloudRepo + "/hooks", Scopes: []string{ReadWebhook, WriteWebhook}},
	{Method: "GET", Path: cloudRepo + "/hooks/{uid}", Scopes: []string{ReadWebhook}},
	{Method: "PUT", Path: cloudRepo + "/hooks/{uid}", Scopes: []string{ReadWebhook, WriteWebhook}},
	{Method: "DELETE", Path: cloudRepo + "/hooks/{uid}", Scopes: []string{DeleteWebhook}},
	{Method: "POST", Path: cloudRepo + "/commit/{commit}/statuses/build", Scopes: []string{ReadRepository}, Use: "post commit statuses"},
	{Method: "GET", Path: cloudRepo + "/commit/{commit}/statuses/build/{key}", Scopes: []string{ReadRepository}},
	{Method: "PUT", Path: cloudRepo + "/commit/{commit}/statuses/build/{key}", Scopes: []string{ReadRepository}},
	{Method: "GET", Path: cloudRepo + "/commit/{commit}/statuses", Scopes: []string{ReadRepository}},
}

const dcRepo = "/api/latest/projects/{projectKey}/repos/{repositorySlug}"

// DataCenter is every Bitbucket Data Center operation orbit-server calls with an
// integration's credential, and the ones the provider and the credential check call.
var DataCenter = []Operation{
	{Method: "GET", Path: "/api/latest/projects", Permission: ProjectView, Use: "check the credential (the token is accepted)"},
	{Method: "GET", Path: "/api/latest/repos", Use: "check the credential (it may read some repository: permission=REPO_READ)"},
	{Method: "GET", Path: dcRepo, Permission: RepoRead, Use: "check a bound repository"},
	{Method: "GET", Path: dcRepo + "/branches", Permission: RepoRead, Use: "read a branch's head (manual trigger)"},
	{Method: "GET", Path: dcRepo + "/compare/changes", Use: "list a push's changed paths"},
	{Method: "GET", Path: dcRepo + "/pull-requests/{pullRequestId}/changes", Permission: RepoRead, Use: "list a pull request's changed paths"},
	{Method: "POST", Path: dcRepo + "/commits/{commitId}/builds", Permission: RepoRead, Use: "post commit statuses"},
	{Method: "GET", Path: dcRepo + "/webhooks", Permission: RepoAdmin},
	{Method: "POST", Path: dcRepo + "/webhooks", Permission: RepoAdmin},
}

// Find is the operation of ops with method and path, if listed.
func Find(ops []Operation, method, path string) (Operation, bool) {
	for _, op := range ops {
		if op.Method == method && op.Path == path {
			return op, true
		}
	}
	return Operation{}, false
}

// ServerUses are the operations orbit-server calls with an integration's credential.
func ServerUses(ops []Operation) []Operation {
	var out []Operation
	for _, op := range ops {
		if op.Use != "" {
			out = append(out, op)
		}
	}
	return out
}

// CloudRequiredScopes are the scopes an integration's Bitbucket Cloud API token needs
// for everything orbit-server does with it, sorted.
func CloudRequiredScopes() []string {
	var out []string
	for _, op := range ServerUses(Cloud) {
		for _, s := range op.Scopes {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// NeededFor is what orbit-server does that needs scope, as one phrase.
func NeededFor(scope string) string {
	var uses []string
	for _, op := range ServerUses(Cloud) {
		if slices.Contains(op.Scopes, scope) && !slices.Contains(uses, op.Use) {
			uses = append(uses, op.Use)
		}
	}
	return strings.Join(uses, "; ")
}

// MissingCloudScopes are the scopes of CloudRequiredScopes that granted lacks.
func MissingCloudScopes(granted []string) []string {
	var out []string
	for _, s := range CloudRequiredScopes() {
		if !slices.Contains(granted, s) {
			out = append(out, s)
		}
	}
	return out
}

// ParseScopes reads a scope list as Bitbucket sends it in X-OAuth-Scopes: names
// separated by commas and white space.
func ParseScopes(header string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// IsScope reports whether s is an API token scope name (<action>:<resource>:bitbucket),
// as opposed to a legacy OAuth consumer scope such as "repository".
func IsScope(s string) bool {
	parts := strings.Split(s, ":")
	return len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] == "bitbucket"
}

// CloudScopesOf is every scope the Cloud table names, sorted (what a token with all
// scopes holds, as far as the project's operations go).
func CloudScopesOf(ops []Operation) []string {
	var out []string
	for _, op := range ops {
		for _, s := range op.Scopes {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}
