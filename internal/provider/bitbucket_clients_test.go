package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// The Data Center client goes to the provider's api_url, else to the integration's
// api_host, and refuses a private:// host it cannot reach.
func TestDataCenterBaseURL(t *testing.T) {
	t.Parallel()
	public := &orbitapi.Integration{Name: "corp", APIHost: new("https://bitbucket.example.com")}
	private := &orbitapi.Integration{Name: "corp", APIHost: new("private://pool-a")}
	for _, tc := range []struct {
		name, apiURL string
		in           *orbitapi.Integration
		want, err    string
	}{
		{"api_url wins", "https://bb.internal.example.com", private, "https://bb.internal.example.com", ""},
		{"api_host by default", "", public, "https://bitbucket.example.com", ""},
		{"private host needs api_url", "", private, "", "private worker pool"},
		{"integration gone", "", nil, "", "no api_url is configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pd := &providerData{bitbucketDataCenter: BitbucketDataCenterCredentials{APIURL: tc.apiURL, Token: "t"}}
			got, err := pd.dataCenterBaseURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Without credentials the clients are not built, and the diagnostic names the block and
// the environment variables.
func TestBitbucketClientsNeedCredentials(t *testing.T) {
	t.Parallel()
	pd := &providerData{bitbucket: &bitbucketClients{}}
	var diags diag.Diagnostics
	if pd.cloudClient(&diags) != nil || pd.dataCenterClient(&orbitapi.Integration{APIHost: new("https://bitbucket.example.com")}, &diags) != nil {
		t.Fatal("a client was built without credentials")
	}
	if len(diags) != 2 {
		t.Fatalf("%d diagnostics, want 2", len(diags))
	}
	for i, want := range []string{"bitbucket_cloud block", "bitbucket_datacenter block"} {
		if d := diags[i].Detail(); !strings.Contains(d, want) || !strings.Contains(d, "environment variables") {
			t.Errorf("diagnostic %d: %q does not name %s and the variables", i, d, want)
		}
	}
}

func TestCloudQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ project, query, want string }{
		{"", "", ""},
		{"PLAT", "", `project.key = "PLAT"`},
		{"", `name ~ "x"`, `(name ~ "x")`},
		{"PLAT", `name ~ "x" OR slug = "y"`, `project.key = "PLAT" AND (name ~ "x" OR slug = "y")`},
	} {
		if got := cloudQuery(tc.project, tc.query); got != tc.want {
			t.Errorf("cloudQuery(%q, %q) = %q, want %q", tc.project, tc.query, got, tc.want)
		}
	}
}
