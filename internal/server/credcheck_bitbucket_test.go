package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

const (
	sbCloudToken = "sb-cloud-admin-token-cc"
	sbAppPass    = "sb-app-password-cc"
	sbDCToken    = "sb-dc-token-cc"

	sbCloudNoRepoToken    = "sb-cloud-no-repository-cc"
	sbCloudNoPRToken      = "sb-cloud-no-pullrequest-cc"
	sbCloudNoUserToken    = "sb-cloud-no-user-cc"
	sbCloudMinimalToken   = "sb-cloud-minimal-cc"
	sbDCEmptyProjectToken = "sb-dc-empty-project-cc"
	sbDCRepoReadToken     = "sb-dc-repo-read-cc"
)

// startCheckedServer runs orbit-server with the real BitbucketChecker pointed at the
// Bitbucket sandbox, served over TLS because Data Center api_host must be https.
// Every check the server sends is validated against Atlassian's OpenAPI descriptions.
func startCheckedServer(t *testing.T) (*servertest.Instance, string) {
	t.Helper()
	return startCheckedServerWith(t, nil)
}

// startCheckedServerWith is startCheckedServer with tune applied to the checker.
func startCheckedServerWith(t *testing.T, tune func(*server.BitbucketChecker)) (*servertest.Instance, string) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{})
	if err := sb.Seed(sandbox.Seed{
		Cloud: sandbox.CloudSeed{
			Users: []sandbox.CloudUser{{
				Email: "dev@example.com", DisplayName: "Dev",
				APITokens: []sandbox.CloudAPIToken{{Token: sbCloudToken, Scopes: []string{"admin"}},
					{Token: sbCloudNoRepoToken, Scopes: []string{"read:user:bitbucket", "read:pullrequest:bitbucket"}},
					{Token: sbCloudNoPRToken, Scopes: []string{"read:user:bitbucket", "read:repository:bitbucket"}},
					{Token: sbCloudNoUserToken, Scopes: []string{"read:repository:bitbucket", "read:pullrequest:bitbucket"}},
					{Token: sbCloudMinimalToken, Scopes: []string{"read:user:bitbucket", "read:repository:bitbucket", "read:pullrequest:bitbucket"}}},
				AppPasswords: []sandbox.CloudAppPassword{{Username: "devuser", Password: sbAppPass}},
			}},
			Workspaces: []sandbox.CloudWorkspace{{Slug: "acme"}},
		},
		DataCenter: sandbox.DataCenterSeed{
			Users: []sandbox.DataCenterUser{{Name: "orbit-bot", Tokens: []sandbox.DataCenterToken{{Token: sbDCToken, Permission: "PROJECT_ADMIN", Project: "PLAT"},
				{Token: sbDCEmptyProjectToken, Permission: "PROJECT_READ", Project: "EMPTY"},
				{Token: sbDCRepoReadToken, Permission: "REPO_READ", Project: "PLAT", Repository: "infra"}}}},
			Projects:     []sandbox.DataCenterProject{{Key: "PLAT"}, {Key: "EMPTY"}},
			Repositories: []sandbox.DataCenterRepository{{Project: "PLAT", Slug: "infra"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	tlsSandbox := httptest.NewTLSServer(sb)
	t.Cleanup(tlsSandbox.Close)
	checker := &server.BitbucketChecker{
		CloudBaseURL:  tlsSandbox.URL,
		TLSConfig:     tlsSandbox.Client().Transport.(*http.Transport).TLSClientConfig,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return contract.RoundTripper(t, rt) },
	}
	if tune != nil {
		tune(checker)
	}
	return servertest.Start(t, servertest.WithCredentialChecker(checker)), tlsSandbox.URL
}

func TestBitbucketCheckerThroughAPI(t *testing.T) {
	t.Parallel()
	inst, sandboxURL := startCheckedServer(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	dc := func(name, token string) map[string]any {
		return with(dcBody(name, space, token), "api_host", sandboxURL)
	}

	// Good credentials are accepted and validate as ok.
	good := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud-good", space, sbCloudToken), http.StatusCreated)
	res := c.must(http.MethodPost, "/api/v1/integrations/"+str(good, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != true || res["reason"] != "ok" {
		t.Fatalf("validate good cloud: %v", res)
	}
	goodDC := c.must(http.MethodPost, "/api/v1/integrations", dc("dc-good", sbDCToken), http.StatusCreated)
	res = c.must(http.MethodPost, "/api/v1/integrations/"+str(goodDC, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != true || res["reason"] != "ok" {
		t.Fatalf("validate good dc: %v", res)
	}

	tests := []struct {
		name   string
		body   map[string]any
		field  string
		says   []string
		secret string
	}{
		{"cloud bad token", cloudBody("cloud-bad", space, "wrong-cloud-token-123"), "api_token", []string{"401", "API token"}, "wrong-cloud-token-123"},
		{"cloud app password", map[string]any{"provider": "bitbucket_cloud", "name": "cloud-legacy", "space_id": space, "username": "devuser", "app_password": sbAppPass},
			"app_password", []string{"2026-07-28", "API token", "email"}, sbAppPass},
		{"dc bad token", dc("dc-bad", "wrong-dc-token-456"), "access_token", []string{"401", "access token"}, "wrong-dc-token-456"},
		{"dc unreachable", with(dc("dc-down", sbDCToken), "api_host", "https://127.0.0.1:1"), "api_host", []string{"could not be reached"}, sbDCToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			msg := c.wantError(http.MethodPost, "/api/v1/integrations", tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
			for _, want := range tt.says {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			for _, body := range c.responses() {
				if strings.Contains(body, tt.secret) {
					t.Errorf("the answer echoes the credential: %q", body)
				}
			}
		})
	}

	// Stored without a check, a bad credential is reported by validate.
	bad := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", cloudBody("cloud-unchecked", space, "wrong-cloud-token-789"), http.StatusCreated)
	res = c.must(http.MethodPost, "/api/v1/integrations/"+str(bad, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != false || res["reason"] != "bad_credentials" || strings.Contains(str(res, "message"), "wrong-cloud-token-789") {
		t.Fatalf("validate bad cloud: %v", res)
	}

	// A private worker pool is checked through its agents; with none connected, the
	// check says so (on api_host), and validate reports it as unreachable.
	newPool(t, c, "pool-1", space)
	private := with(dc("dc-private", "any-token"), "api_host", "private://pool-1", "user_facing_host", "https://bitbucket.example.com")
	if msg := c.wantError(http.MethodPost, "/api/v1/integrations", private, http.StatusBadRequest, "invalid_argument", "api_host"); !strings.Contains(msg, `no agent of pool "pool-1" is connected`) {
		t.Fatalf("private pool without an agent: %q", msg)
	}
	created := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", private, http.StatusCreated)
	res = c.must(http.MethodPost, "/api/v1/integrations/"+str(created, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != false || res["reason"] != "unreachable" || !strings.Contains(str(res, "message"), "no agent of pool") {
		t.Fatalf("validate private pool: %v", res)
	}

	for _, body := range c.responses() {
		for _, secret := range []string{sbCloudToken, sbAppPass, sbDCToken, "wrong-cloud-token-123", "wrong-dc-token-456"} {
			if strings.Contains(body, secret) {
				t.Fatalf("a response carries a credential: %s", body)
			}
		}
	}
}

// TestCredentialCheckProvesScopes: a Cloud API token is accepted only when the scopes
// Bitbucket reports it holds cover every operation orbit-server calls (posting
// statuses and reading repositories need read:repository:bitbucket, a pull request's
// changed paths read:pullrequest:bitbucket, the check itself read:user:bitbucket, as
// Atlassian's description lists them); the refusal names the missing scope and what
// needs it, on the api_token field, never the token. A Data Center token must hold
// REPO_READ on some repository; one that reaches none is refused naming REPO_READ.
func TestCredentialCheckProvesScopes(t *testing.T) {
	t.Parallel()
	inst, sandboxURL := startCheckedServer(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)

	c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud-minimal", space, sbCloudMinimalToken), http.StatusCreated)
	c.must(http.MethodPost, "/api/v1/integrations", with(dcBody("dc-repo-read", space, sbDCRepoReadToken), "api_host", sandboxURL), http.StatusCreated)

	tests := []struct {
		name, token string
		body        map[string]any
		field       string
		says        []string
	}{
		{"cloud without read:repository", sbCloudNoRepoToken, cloudBody("cloud-no-repo", space, sbCloudNoRepoToken), "api_token",
			[]string{"lacks the scope(s) read:repository:bitbucket", "post commit statuses"}},
		{"cloud without read:pullrequest", sbCloudNoPRToken, cloudBody("cloud-no-pr", space, sbCloudNoPRToken), "api_token",
			[]string{"lacks the scope(s) read:pullrequest:bitbucket", "pull request's changed paths"}},
		{"cloud without read:user", sbCloudNoUserToken, cloudBody("cloud-no-user", space, sbCloudNoUserToken), "api_token",
			[]string{"read:user:bitbucket", "403"}},
		{"dc reaching no repository", sbDCEmptyProjectToken, with(dcBody("dc-empty", space, sbDCEmptyProjectToken), "api_host", sandboxURL), "access_token",
			[]string{"holds REPO_READ on no repository", "post commit statuses"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			msg := c.wantError(http.MethodPost, "/api/v1/integrations", tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
			for _, want := range tt.says {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			for _, body := range c.responses() {
				if strings.Contains(body, tt.token) {
					t.Errorf("the answer echoes the credential: %q", body)
				}
			}
		})
	}

	// Stored unchecked, the same token fails validate with reason missing_scope.
	stored := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", cloudBody("cloud-unchecked-scopes", space, sbCloudNoRepoToken), http.StatusCreated)
	res := c.must(http.MethodPost, "/api/v1/integrations/"+str(stored, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != false || res["reason"] != "missing_scope" || !strings.Contains(str(res, "message"), "read:repository:bitbucket") {
		t.Fatalf("validate: %v", res)
	}
}
