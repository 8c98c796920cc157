package bitbucketcloud

import (
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
)

// TestCheckScopes: the scopes Bitbucket reports decide; when it reports none in the
// API token form (no header, or only legacy OAuth names), the check passes and says
// the scopes were not proven.
func TestCheckScopes(t *testing.T) {
	ok := vcs.CredentialCheck{Valid: true, Reason: vcs.CheckOK, Message: "credentials accepted by Bitbucket Cloud"}
	all := []string{"read:pullrequest:bitbucket", "read:repository:bitbucket", "read:user:bitbucket", "write:webhook:bitbucket"}
	tests := []struct {
		name     string
		result   bitbucket.CheckResult
		valid    bool
		contains string
	}{
		{"all scopes", bitbucket.CheckResult{Scopes: all, ScopesReported: true}, true, "holds every scope"},
		{"no header", bitbucket.CheckResult{}, true, "were not proven"},
		{"legacy names only", bitbucket.CheckResult{Scopes: []string{"repository", "pullrequest", "account"}, ScopesReported: true}, true, "were not proven"},
		{"missing two", bitbucket.CheckResult{Scopes: []string{"read:user:bitbucket"}, ScopesReported: true}, false,
			"lacks the scope(s) read:pullrequest:bitbucket (to list a pull request's changed paths), read:repository:bitbucket (to check a bound repository; find its main branch; read a branch's head (manual trigger); list a push's changed paths; post commit statuses)"},
	}
	for _, tt := range tests {
		got := checkScopes(ok, tt.result)
		if got.Valid != tt.valid || !strings.Contains(got.Message, tt.contains) {
			t.Errorf("%s: %+v", tt.name, got)
		}
		if !tt.valid && got.Reason != vcs.CheckMissingScope {
			t.Errorf("%s: reason %q", tt.name, got.Reason)
		}
	}
}
