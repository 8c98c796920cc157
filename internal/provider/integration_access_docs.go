package provider

import (
	"fmt"
	"slices"
	"strings"

	bbaccess "github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
)

// The integration resources' documentation of what their tokens must be allowed to
// do, written from internal/bitbucket/access (the one table, held to Atlassian's
// descriptions) so that the docs cannot drift from what orbit-server checks.

// cloudScopesMarkdown lists the scopes a Bitbucket Cloud integration's API token needs.
func cloudScopesMarkdown() string {
	var b strings.Builder
	b.WriteString("\n\n## Required API token scopes\n\n")
	b.WriteString("orbit-server uses the API token for the calls below; Atlassian's OpenAPI description of Bitbucket Cloud lists these scopes for them " +
		"(`x-atlassian-oauth2-scopes`). API token scopes do not imply one another, so select each one.\n\n")
	b.WriteString("| scope | what orbit-server does with it |\n| --- | --- |\n")
	for _, s := range bbaccess.CloudRequiredScopes() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", s, bbaccess.NeededFor(s))
	}
	b.WriteString("\nPosting a commit status needs only `read:repository:bitbucket` (the description lists no write scope for it). " +
		"When the integration is created or updated, orbit-server reads the account (`GET /2.0/user`) with the token and compares the scopes " +
		"Bitbucket reports in the `X-OAuth-Scopes` response header (which Atlassian documents as where a token's scopes show) with the table: a missing scope fails the apply with an error naming it. " +
		"When Bitbucket reports no API token scopes there, they cannot be proven without a repository: the check passes and says so, " +
		"and each binding's creation then reads its repository with the token.\n\n")
	fmt.Fprintf(&b, "Repository webhooks (`orbit_bitbucket_repository_webhook`) are managed with the provider's own `bitbucket_cloud` credentials, not this token; "+
		"they need %s.", codeList(webhookScopes()))
	return b.String()
}

// webhookScopes are the scopes of the Cloud hook operations.
func webhookScopes() []string {
	var ops []bbaccess.Operation
	for _, op := range bbaccess.Cloud {
		if strings.Contains(op.Path, "/hooks") {
			ops = append(ops, op)
		}
	}
	return bbaccess.CloudScopesOf(ops)
}

// dataCenterPermissionsMarkdown lists the permission a Bitbucket Data Center
// integration's access token needs.
func dataCenterPermissionsMarkdown() string {
	var b strings.Builder
	b.WriteString("\n\n## Required permissions\n\n")
	b.WriteString("orbit-server uses the access token for the calls below (the repository calls on each bound repository); Atlassian's OpenAPI " +
		"description of Bitbucket Data Center names the permission each one needs.\n\n")
	b.WriteString("| call | permission | what orbit-server does with it |\n| --- | --- | --- |\n")
	var perms []string
	for _, op := range bbaccess.ServerUses(bbaccess.DataCenter) {
		perm := "none named"
		if op.Permission != "" {
			perm = "`" + op.Permission + "`"
			if op.Permission != bbaccess.ProjectView && !slices.Contains(perms, op.Permission) {
				perms = append(perms, op.Permission)
			}
		}
		fmt.Fprintf(&b, "| `%s %s` | %s | %s |\n", op.Method, "/rest"+op.Path, perm, op.Use)
	}
	fmt.Fprintf(&b, "\nSo the token needs %s on every bound repository (a repository, project or personal token with read permission); "+
		"posting a build status needs no write permission. When the integration is created or updated, orbit-server proves that the token is "+
		"accepted and holds `REPO_READ` on at least one repository (`GET /rest/api/latest/repos?permission=REPO_READ`), and fails the apply "+
		"naming `REPO_READ` when it holds it on none. It cannot prove there that the token reaches the repositories bound later: each "+
		"binding's creation reads its repository with the token, and a repository the token cannot read fails that apply. "+
		"With `api_host = \"private://...\"` orbit-server cannot reach Bitbucket, and nothing is checked.\n\n", codeList(perms))
	b.WriteString("Repository webhooks (`orbit_bitbucket_repository_webhook`) are managed with the provider's own `bitbucket_datacenter` credentials, " +
		"not this token; they need `" + bbaccess.RepoAdmin + "` on the repository.")
	return b.String()
}

func codeList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}
