package provider

// Shared harness of the acceptance tests (TF_ACC=1): the real terraform binary drives
// this provider in-process (ProtoV6ProviderFactories) against a real orbit-server on
// loopback with its own temporary SQLite database per test.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// minTerraform is the oldest Terraform with write-only attributes.
var minTerraform = goversion.Must(goversion.NewVersion("1.11.0"))

// TestMain pins the terraform binary the acceptance tests use: TF_ACC_TERRAFORM_PATH,
// else terraform on PATH. terraform-plugin-testing would otherwise download one.
func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") != "" {
		if err := pinTerraform(); err != nil {
			fmt.Fprintln(os.Stderr, "acceptance tests:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func pinTerraform() error {
	const advice = "install Terraform >= 1.11 (or OpenTofu >= 1.11: make tofu) or set TF_ACC_TERRAFORM_PATH to its binary"
	binary := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if binary == "" {
		found, err := exec.LookPath("terraform")
		if err != nil {
			return fmt.Errorf("TF_ACC is set but no terraform binary was found: %s", advice)
		}
		binary = found
	}
	out, err := exec.Command(binary, "version", "-json").Output()
	if err != nil {
		return fmt.Errorf("running %s version: %v: %s", binary, err, advice)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("reading %s version: %v: %s", binary, err, advice)
	}
	if !acceptableTerraform(v.Version) {
		return fmt.Errorf("%s is Terraform %s: %s", binary, v.Version, advice)
	}
	if accOpenTofu, err = isOpenTofu(binary); err != nil {
		return err
	}
	if accOpenTofu {
		if err := useOpenTofuAddresses(); err != nil {
			return err
		}
	}
	// Never let the test framework fetch a binary of its own.
	if err := os.Setenv("TF_ACC_TERRAFORM_PATH", binary); err != nil {
		return err
	}
	return os.Unsetenv("TF_ACC_TERRAFORM_VERSION")
}

// accEnv is one acceptance test's world: an orbit-server, a Bitbucket sandbox, API
// clients for changing things behind Terraform's back, and a record of the
// credentials the server saw.
type accEnv struct {
	server      *servertest.Instance
	api         *orbitapi.Client
	credentials *recordingChecker
	sandbox     *sandbox.TestServer
}

func newAccEnv(t *testing.T, opts ...servertest.Option) *accEnv {
	t.Helper()
	return newAccEnvWith(t, accRecordCredentials, opts...)
}

// What an acceptance test's orbit-server checks against the sandbox.
type accChecks int

const (
	// accRecordCredentials: credentials are only recorded.
	accRecordCredentials accChecks = iota
	// accCheckRepositories: bound repositories are checked too.
	accCheckRepositories
	// accCheckCredentials: the real BitbucketChecker checks everything, credentials included.
	accCheckCredentials
)

// newAccEnvCheckingRepositories is newAccEnv whose orbit-server also checks, as the
// real one does, that a bound repository exists in Bitbucket (Cloud: the sandbox,
// with the integration's own credential); credentials are still only recorded.
func newAccEnvCheckingRepositories(t *testing.T, opts ...servertest.Option) *accEnv {
	t.Helper()
	return newAccEnvWith(t, accCheckRepositories, opts...)
}

// newAccEnvCheckingCredentials is newAccEnv whose orbit-server checks integration
// credentials (and bound repositories) against the sandbox with the real
// BitbucketChecker, as a deployed one checks them against Bitbucket.
func newAccEnvCheckingCredentials(t *testing.T, opts ...servertest.Option) *accEnv {
	t.Helper()
	return newAccEnvWith(t, accCheckCredentials, opts...)
}

func newAccEnvWith(t *testing.T, checks accChecks, opts ...servertest.Option) *accEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("acceptance test: skipped under -short (make test runs it)")
	}
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run")
	}
	sb := sandbox.StartTest(t)
	if err := sb.Seed(accSeed()); err != nil {
		t.Fatal(err)
	}
	recorder := &recordingChecker{seen: map[string][]string{}}
	var checker server.CredentialChecker = recorder
	switch checks {
	case accCheckRepositories:
		checker = repositoryCheckingChecker{recordingChecker: recorder, bitbucket: &server.BitbucketChecker{CloudBaseURL: sb.URL}}
	case accCheckCredentials:
		checker = &server.BitbucketChecker{CloudBaseURL: sb.URL}
	}
	instance := servertest.Start(t, append([]servertest.Option{servertest.WithCredentialChecker(checker)}, opts...)...)
	api, err := orbitapi.NewClient(instance.URL, instance.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	return &accEnv{server: instance, api: api, credentials: recorder, sandbox: sb}
}

// repositoryCheckingChecker records credentials like recordingChecker and checks
// bound repositories with the real BitbucketChecker.
type repositoryCheckingChecker struct {
	*recordingChecker
	bitbucket *server.BitbucketChecker
}

func (c repositoryCheckingChecker) CheckRepository(ctx context.Context, in store.Integration, credential, namespace, repository string) error {
	return c.bitbucket.CheckRepository(ctx, in, credential, namespace, repository)
}

// Sandbox credentials of the acceptance tests.
const (
	accCloudEmail      = "dev@example.com"
	accCloudAdminToken = "acc-cloud-admin-token"
	accCloudReadToken  = "acc-cloud-read-token"
	accDCAdminToken    = "acc-dc-admin-token"
	accDCReadToken     = "acc-dc-read-token"
)

// accSeed: a Cloud workspace acme and a Data Center project PLAT, each with the
// repositories infra, app and web.
func accSeed() sandbox.Seed {
	var seed sandbox.Seed
	seed.Cloud.Users = []sandbox.CloudUser{{Email: accCloudEmail, DisplayName: "Dev", APITokens: []sandbox.CloudAPIToken{
		{Token: accCloudAdminToken, Scopes: []string{"admin"}},
		{Token: accCloudReadToken, Scopes: []string{"read"}},
	}}}
	seed.Cloud.Workspaces = []sandbox.CloudWorkspace{{Slug: "acme", Name: "Acme"}}
	seed.DataCenter.Users = []sandbox.DataCenterUser{{Name: "admin", DisplayName: "Admin", Tokens: []sandbox.DataCenterToken{
		{Token: accDCAdminToken, Permission: "PROJECT_ADMIN", Project: "PLAT"},
		{Token: accDCReadToken, Permission: "REPO_READ", Project: "PLAT"},
	}}}
	seed.DataCenter.Projects = []sandbox.DataCenterProject{{Key: "PLAT", Name: "Platform"}}
	for _, slug := range []string{"infra", "app", "web"} {
		seed.Cloud.Repositories = append(seed.Cloud.Repositories, sandbox.CloudRepository{Workspace: "acme", Slug: slug, ProjectKey: "PLAT", MainBranch: "main"})
		seed.DataCenter.Repositories = append(seed.DataCenter.Repositories, sandbox.DataCenterRepository{Project: "PLAT", Slug: slug, DefaultBranch: "main"})
	}
	return seed
}

// config prefixes body with a provider block pointing at this test's server and
// sandbox, with admin credentials for both Bitbucket products. The endpoint and keys
// go in the block, not the environment, so tests can run in parallel.
func (e *accEnv) config(body string) string {
	return e.configWithTokens(accCloudAdminToken, accDCAdminToken, body)
}

// configWithTokens is config with other sandbox tokens ("" leaves a block out).
func (e *accEnv) configWithTokens(cloudToken, dcToken, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nprovider \"orbit\" {\n  endpoint = %q\n  api_key  = %q\n", e.server.URL, e.server.AdminKey)
	if cloudToken != "" {
		fmt.Fprintf(&b, "  bitbucket_cloud {\n    api_url   = %q\n    email     = %q\n    api_token = %q\n  }\n", e.sandbox.URL, accCloudEmail, cloudToken)
	}
	if dcToken != "" {
		fmt.Fprintf(&b, "  bitbucket_datacenter {\n    api_url = %q\n    token   = %q\n  }\n", e.sandbox.URL, dcToken)
	}
	b.WriteString("}\n")
	return b.String() + body
}

// cloudAPI and dataCenterAPI talk to the sandbox as Bitbucket clients do, to change
// hooks behind Terraform's back.
func (e *accEnv) cloudAPI(t *testing.T) *cloud.Client {
	t.Helper()
	c, err := cloud.New(cloud.APIToken(accCloudEmail, accCloudAdminToken), bitbucket.WithBaseURL(e.sandbox.URL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *accEnv) dataCenterAPI(t *testing.T) *datacenter.Client {
	t.Helper()
	c, err := datacenter.New(accDCAdminToken, bitbucket.WithBaseURL(e.sandbox.URL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *accEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"orbit": providerserver.NewProtocol6WithError(New("acctest")()),
	}
}

// recordingChecker is orbit-server's credential checker hook: the server calls it on
// every integration write with the credential then in effect (the new one, or the
// stored one when the request carried none). It accepts everything and remembers.
type recordingChecker struct {
	mu   sync.Mutex
	seen map[string][]string // integration name -> credentials, in order
}

func (c *recordingChecker) Check(_ context.Context, in store.Integration, credential string) server.CredentialCheck {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[in.Name] = append(c.seen[in.Name], credential)
	return server.CredentialCheck{Valid: true, Reason: server.CheckOK}
}

// last returns the credential of the latest write of an integration and how many
// writes there were.
func (c *recordingChecker) last(name string) (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := c.seen[name]
	if len(seen) == 0 {
		return "", 0
	}
	return seen[len(seen)-1], len(seen)
}

// credentialCheck asserts that the latest write of integration name reached the
// server with the credential want (a new one, or the stored one that was kept).
type credentialCheck struct {
	env        *accEnv
	name, want string
}

func (e *accEnv) credentialIs(name, want string) statecheck.StateCheck {
	return credentialCheck{env: e, name: name, want: want}
}

func (c credentialCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	got, writes := c.env.credentials.last(c.name)
	if writes == 0 {
		resp.Error = fmt.Errorf("orbit-server saw no write of integration %q", c.name)
		return
	}
	if got != c.want {
		resp.Error = fmt.Errorf("orbit-server's credential for %q after %d write(s) is not the expected one (want the value starting %q)", c.name, writes, c.want[:4])
	}
}

// Provider configuration problems surface once, through real Terraform, with what to
// set or check.
func TestAccProviderConfigurationErrors(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedEndpoint := "http://" + listener.Addr().String()
	listener.Close()

	const body = `
resource "orbit_space" "test" {
  name = "x"
}
`
	withProvider := func(endpoint, apiKey string) string {
		return fmt.Sprintf("provider \"orbit\" {\n  endpoint = %q\n  api_key = %q\n}\n", endpoint, apiKey) + body
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:      withProvider(env.server.URL, "orbit_k_unknown_"+strings.Repeat("A", 43)),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`Orbit API key rejected.*ORBIT_API_KEY`),
			},
			{
				Config:      withProvider(closedEndpoint, env.server.AdminKey),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`Cannot reach orbit-server.*Check endpoint`),
			},
			{
				Config:      withProvider("orbit.example.com", env.server.AdminKey),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`endpoint.*must be an http:// or https:// URL`),
			},
		},
	})
}
