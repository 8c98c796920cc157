package access_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
)

// TestCloudScopesMatchDescription holds every row of the Cloud table to the
// x-atlassian-oauth2-scopes of its operation in Atlassian's description.
func TestCloudScopesMatchDescription(t *testing.T) {
	v := contract.Cloud(t)
	for _, op := range access.Cloud {
		desc := v.Operation(op.Method, op.Path)
		if desc == nil {
			t.Errorf("%s %s: not in the Cloud description", op.Method, op.Path)
			continue
		}
		raw, err := json.Marshal(desc.Extensions["x-atlassian-oauth2-scopes"])
		if err != nil {
			t.Fatal(err)
		}
		var schemes []struct {
			State  string   `json:"state"`
			Scheme string   `json:"scheme"`
			Scopes []string `json:"scopes"`
		}
		if err := json.Unmarshal(raw, &schemes); err != nil || len(schemes) != 1 {
			t.Errorf("%s %s: x-atlassian-oauth2-scopes %s (%v)", op.Method, op.Path, raw, err)
			continue
		}
		want, got := slices.Sorted(slices.Values(schemes[0].Scopes)), slices.Sorted(slices.Values(op.Scopes))
		if !slices.Equal(want, got) {
			t.Errorf("%s %s: the table says %v, the description %v", op.Method, op.Path, got, want)
		}
	}
}

// A permission the description names in bold: <strong>REPO_READ</strong> or **REPO_READ**.
var boldPermission = regexp.MustCompile(`(?:<strong>|\*\*)([A-Z]+_[A-Z_]+)(?:</strong>|\*\*)`)

// TestDataCenterPermissionsMatchDescription holds every row of the Data Center table
// to the permission its operation's description names ("" where it names none).
func TestDataCenterPermissionsMatchDescription(t *testing.T) {
	v := contract.DataCenter(t)
	for _, op := range access.DataCenter {
		desc := v.Operation(op.Method, op.Path)
		if desc == nil {
			t.Errorf("%s %s: not in the Data Center description", op.Method, op.Path)
			continue
		}
		var named []string
		for _, m := range boldPermission.FindAllStringSubmatch(desc.Description, -1) {
			if !slices.Contains(named, m[1]) {
				named = append(named, m[1])
			}
		}
		want := ""
		switch len(named) {
		case 0:
		case 1:
			want = named[0]
		default:
			t.Errorf("%s %s: the description names %v", op.Method, op.Path, named)
			continue
		}
		if op.Permission != want {
			t.Errorf("%s %s: the table says %q, the description %q", op.Method, op.Path, op.Permission, want)
		}
	}
}

// TestCloudRequiredScopes: what orbit-server needs is the union over the operations
// it calls; a token missing one is told which.
func TestCloudRequiredScopes(t *testing.T) {
	want := []string{access.ReadPullRequest, access.ReadRepository, access.ReadUser}
	if got := access.CloudRequiredScopes(); !slices.Equal(got, want) {
		t.Fatalf("required %v, want %v", got, want)
	}
	if got := access.MissingCloudScopes([]string{access.ReadUser, access.ReadPullRequest, "repository"}); !slices.Equal(got, []string{access.ReadRepository}) {
		t.Fatalf("missing %v", got)
	}
	if got := access.ParseScopes(" read:user:bitbucket, read:repository:bitbucket,read:user:bitbucket "); !slices.Equal(got, []string{access.ReadUser, access.ReadRepository}) {
		t.Fatalf("parsed %v", got)
	}
	if access.IsScope("repository") || !access.IsScope(access.ReadRepository) {
		t.Fatal("IsScope")
	}
}
