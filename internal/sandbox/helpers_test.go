package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
)

// Credentials of the standard seed.
const (
	cloudEmail      = "dev@example.com"
	cloudAdminToken = "tok-admin"
	cloudReadToken  = "tok-read"
	cloudWriteToken = "tok-write"
	// cloudNoRepoToken holds the account and pull request read scopes, but not
	// read:repository:bitbucket.
	cloudNoRepoToken = "tok-no-repository"
	appUser          = "devuser"
	appPassword      = "legacy-app-password"
	otherEmail       = "other@example.com"
	otherToken       = "tok-other"

	dcAdminToken     = "dc-admin"
	dcReadToken      = "dc-read"
	dcRepoAdminToken = "dc-repo-admin"
)

func standardSeed() sandbox.Seed {
	return sandbox.Seed{
		Cloud: sandbox.CloudSeed{
			Users: []sandbox.CloudUser{
				{
					Email: cloudEmail, DisplayName: "Dev Eloper", UUID: "{11111111-2222-4333-8444-555555555555}",
					APITokens: []sandbox.CloudAPIToken{
						{Token: cloudAdminToken, Scopes: []string{"admin"}},
						{Token: cloudReadToken, Scopes: []string{"read"}},
						{Token: cloudWriteToken, Scopes: []string{"write"}},
						{Token: cloudNoRepoToken, Scopes: []string{"read:user:bitbucket", "read:pullrequest:bitbucket"}},
					},
					AppPasswords: []sandbox.CloudAppPassword{{Username: appUser, Password: appPassword}},
				},
				{
					Email: otherEmail, Workspaces: []string{"other"},
					APITokens: []sandbox.CloudAPIToken{{Token: otherToken, Scopes: []string{"admin"}}},
				},
			},
			Workspaces: []sandbox.CloudWorkspace{{Slug: "acme", Name: "Acme"}, {Slug: "other"}},
			Repositories: []sandbox.CloudRepository{
				{Workspace: "acme", Slug: "infra", ProjectKey: "PLAT"},
				{Workspace: "acme", Slug: "app"},
				{Workspace: "other", Slug: "secret"},
			},
		},
		DataCenter: sandbox.DataCenterSeed{
			Users: []sandbox.DataCenterUser{{
				Name: "admin", DisplayName: "Admin",
				Tokens: []sandbox.DataCenterToken{
					{Token: dcAdminToken, Permission: "PROJECT_ADMIN", Project: "PLAT"},
					{Token: dcReadToken, Permission: "REPO_READ"},
					{Token: dcRepoAdminToken, Permission: "REPO_ADMIN", Project: "PLAT", Repository: "infra"},
				},
			}},
			Projects: []sandbox.DataCenterProject{{Key: "PLAT", Name: "Platform"}, {Key: "OPS", Name: "Operations"}},
			Repositories: []sandbox.DataCenterRepository{
				{Project: "PLAT", Slug: "infra"},
				{Project: "PLAT", Slug: "app"},
				{Project: "OPS", Slug: "tools"},
			},
		},
	}
}

// apiClient talks to a sandbox through the contract-checking transport, so every request
// and response of these tests is validated against Atlassian's descriptions.
type apiClient struct {
	t    *testing.T
	sb   *sandbox.TestServer
	http *http.Client
}

func start(t *testing.T) *apiClient {
	t.Helper()
	return startWith(t, sandbox.Config{})
}

func startWith(t *testing.T, cfg sandbox.Config) *apiClient {
	t.Helper()
	contract.Cloud(t) // load (or skip) before any request
	contract.DataCenter(t)
	sb := sandbox.StartTestWith(t, cfg)
	if err := sb.Seed(standardSeed()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return &apiClient{t: t, sb: sb, http: &http.Client{}}
}

type auth func(*http.Request)

func basic(user, pass string) auth { return func(r *http.Request) { r.SetBasicAuth(user, pass) } }
func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}
func cloudAdmin() auth { return basic(cloudEmail, cloudAdminToken) }
func dcAdmin() auth    { return bearer(dcAdminToken) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends method path (absolute URL or sandbox path) with an optional JSON body (a
// string is sent as is) and checks the request and the response against the contract.
func (c *apiClient) do(method, path string, a auth, body any) response {
	c.t.Helper()
	return c.send(method, path, a, body, true)
}

// doInvalid sends a request the description itself rejects (to test the sandbox's own
// validation); only the response is checked against the contract.
func (c *apiClient) doInvalid(method, path string, a auth, body any) response {
	c.t.Helper()
	return c.send(method, path, a, body, false)
}

func (c *apiClient) validator(path string) *contract.Validator {
	switch {
	case strings.HasPrefix(path, "/2.0/"):
		return contract.Cloud(c.t)
	case strings.HasPrefix(path, "/rest/"):
		return contract.DataCenter(c.t)
	}
	return nil
}

func (c *apiClient) send(method, path string, a auth, body any, checkRequest bool) response {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			reader = strings.NewReader(s)
		} else {
			data, err := json.Marshal(body)
			if err != nil {
				c.t.Fatal(err)
			}
			reader = bytes.NewReader(data)
		}
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = c.sb.URL + path
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a != nil {
		a(req)
	}
	var reqBody []byte
	if req.GetBody != nil {
		rc, _ := req.GetBody()
		reqBody, _ = io.ReadAll(rc)
	}
	v := c.validator(req.URL.Path)
	if v != nil && checkRequest {
		if err := v.ValidateRequest(req, reqBody); err != nil {
			c.t.Errorf("contract: %v", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if v != nil {
		if err := v.ValidateResponse(req, resp, data); err != nil {
			c.t.Errorf("contract: %v", err)
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (c *apiClient) expect(method, path string, a auth, body any, want int) response {
	c.t.Helper()
	return c.check(c.do(method, path, a, body), method, path, want)
}

func (c *apiClient) expectInvalid(method, path string, a auth, body any, want int) response {
	c.t.Helper()
	return c.check(c.doInvalid(method, path, a, body), method, path, want)
}

func (c *apiClient) check(r response, method, path string, want int) response {
	c.t.Helper()
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

// cloudErrorMessage asserts Cloud's error shape and returns its message.
func cloudErrorMessage(t *testing.T, r response) string {
	t.Helper()
	m := r.json(t)
	if m["type"] != "error" {
		t.Fatalf("error body type = %v, want error: %s", m["type"], r.body)
	}
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("error body has no error object: %s", r.body)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Fatalf("error body has no message: %s", r.body)
	}
	return msg
}

// dcException asserts Data Center's error shape and returns the first exceptionName.
func dcException(t *testing.T, r response) string {
	t.Helper()
	var body struct {
		Errors []struct {
			Context       *string `json:"context"`
			Message       string  `json:"message"`
			ExceptionName *string `json:"exceptionName"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Errors) == 0 || body.Errors[0].Message == "" {
		t.Fatalf("not a Data Center error body (%v): %s", err, r.body)
	}
	if body.Errors[0].ExceptionName == nil {
		return ""
	}
	return *body.Errors[0].ExceptionName
}
