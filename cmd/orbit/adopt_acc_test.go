package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/adopt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

const (
	accEmail      = "dev@example.com"
	accCloudToken = "adopt-cloud-admin-token"
	accDCToken    = "adopt-dc-admin-token"
)

// adoptWorld is an orbit-server and a Bitbucket sandbox with a setup made by hand:
// 30 Cloud and 10 Data Center repositories, hooks made through the sandbox's
// Bitbucket API (4 missing events, 2 disabled, 2 duplicated, 1 to a foreign URL, 3
// repositories without hooks, one hook at an old orbit-server address), and
// integrations, stacks and bindings made through the Orbit API.
type adoptWorld struct {
	server  *servertest.Instance
	sandbox *sandbox.TestServer
	api     *orbitapi.Client
	spaceID string
	cloud   *orbitapi.IntegrationWebhook
	dc      *orbitapi.IntegrationWebhook
	env     map[string]string
}

func cloudSlug(i int) string { return fmt.Sprintf("svc-%02d", i) }
func dcSlug(i int) string    { return fmt.Sprintf("lib-%d", i) }

func newAdoptWorld(t *testing.T) *adoptWorld {
	t.Helper()
	ctx := context.Background()
	w := &adoptWorld{server: servertest.Start(t), sandbox: sandbox.StartTest(t)}
	var seed sandbox.Seed
	seed.Cloud.Users = []sandbox.CloudUser{{Email: accEmail, DisplayName: "Dev", APITokens: []sandbox.CloudAPIToken{{Token: accCloudToken, Scopes: []string{"admin"}}}}}
	seed.Cloud.Workspaces = []sandbox.CloudWorkspace{{Slug: "acme", Name: "Acme"}}
	seed.DataCenter.Users = []sandbox.DataCenterUser{{Name: "admin", DisplayName: "Admin", Tokens: []sandbox.DataCenterToken{{Token: accDCToken, Permission: "PROJECT_ADMIN", Project: "PLAT"}}}}
	seed.DataCenter.Projects = []sandbox.DataCenterProject{{Key: "PLAT", Name: "Platform"}}
	for i := range 30 {
		seed.Cloud.Repositories = append(seed.Cloud.Repositories, sandbox.CloudRepository{Workspace: "acme", Slug: cloudSlug(i), MainBranch: "main"})
	}
	for i := range 10 {
		seed.DataCenter.Repositories = append(seed.DataCenter.Repositories, sandbox.DataCenterRepository{Project: "PLAT", Slug: dcSlug(i), DefaultBranch: "main"})
	}
	if err := w.sandbox.Seed(seed); err != nil {
		t.Fatal(err)
	}

	var err error
	if w.api, err = orbitapi.NewClient(w.server.URL, w.server.AdminKey); err != nil {
		t.Fatal(err)
	}
	space, err := w.api.Spaces.Create(ctx, orbitapi.SpaceRequest{Name: "platform"})
	if err != nil {
		t.Fatal(err)
	}
	w.spaceID = space.ID
	cloudToken, dcToken := accCloudToken, accDCToken
	cloudIn, err := w.api.Integrations.Create(ctx, orbitapi.IntegrationRequest{Provider: orbitapi.ProviderBitbucketCloud, Name: "main", SpaceID: space.ID,
		Email: accEmail, APIToken: &cloudToken, SkipCredentialCheck: true, Description: "made in the web form"})
	if err != nil {
		t.Fatal(err)
	}
	dcIn, err := w.api.Integrations.Create(ctx, orbitapi.IntegrationRequest{Provider: orbitapi.ProviderBitbucketDataCenter, Name: "corp", SpaceID: space.ID,
		APIHost: w.sandbox.URL, Username: "admin", AccessToken: &dcToken, SkipCredentialCheck: true, VCSChecks: "all", Labels: []string{"team:platform"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.cloud, err = w.api.Integrations.Webhook(ctx, cloudIn.ID); err != nil {
		t.Fatal(err)
	}
	if w.dc, err = w.api.Integrations.Webhook(ctx, dcIn.ID); err != nil {
		t.Fatal(err)
	}

	// Stacks: Cloud svc-00..19 and svc-28, Data Center lib-0..5 and lib-9; one
	// stack unbound; two with their own branch or directory.
	bind := func(name, integrationID, namespace, repo, branch, root string) {
		st, err := w.api.Stacks.Create(ctx, orbitapi.StackRequest{Name: name, SpaceID: space.ID})
		if err != nil {
			t.Fatal(err)
		}
		if repo == "" {
			return
		}
		if _, err := w.api.Stacks.CreateBinding(ctx, st.ID, orbitapi.StackVCSBindingRequest{IntegrationID: integrationID, Namespace: namespace,
			Repository: repo, Branch: branch, ProjectRoot: root, PullRequestRuns: new(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range append(seq(0, 20), 28) {
		branch := "main"
		if i == 7 {
			branch = "develop"
		}
		bind(cloudSlug(i), cloudIn.ID, "acme", cloudSlug(i), branch, "")
	}
	for _, i := range append(seq(0, 6), 9) {
		root := ""
		if i == 2 {
			root = "terraform"
		}
		bind(dcSlug(i), dcIn.ID, "PLAT", dcSlug(i), "main", root)
	}
	bind("scratch", "", "", "", "", "")

	// Hooks, made as people make them.
	cc, err := cloud.New(cloud.APIToken(accEmail, accCloudToken), bitbucket.WithBaseURL(w.sandbox.URL))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := datacenter.New(accDCToken, bitbucket.WithBaseURL(w.sandbox.URL))
	if err != nil {
		t.Fatal(err)
	}
	cloudHook := func(i int, url string, events []string, active bool) {
		t.Helper()
		if _, err := cc.CreateHook(ctx, "acme", cloudSlug(i), cloud.CreateHookRequest{URL: url, Description: "Orbit", Active: active,
			Events: events, Secret: bitbucket.Secret(w.cloud.WebhookSecret)}); err != nil {
			t.Fatal(err)
		}
	}
	dcHook := func(i int, url string, events []string, active bool) {
		t.Helper()
		if _, err := dc.CreateWebhook(ctx, "PLAT", dcSlug(i), datacenter.CreateWebhookRequest{Name: "Orbit", URL: url, Active: active,
			Events: events, SSLVerificationRequired: true, Secret: bitbucket.Secret(w.dc.WebhookSecret)}); err != nil {
			t.Fatal(err)
		}
	}
	cloudEvents, dcEvents := cloud.RequiredEvents(), datacenter.RequiredEvents()
	for i := range 28 { // svc-28 and svc-29 have no hook
		switch i {
		case 1, 2: // missing events
			cloudHook(i, w.cloud.WebhookURL, cloudEvents[:3], true)
		case 3: // disabled
			cloudHook(i, w.cloud.WebhookURL, cloudEvents, false)
		case 6: // an old orbit-server address
			cloudHook(i, "https://orbit-old.example.com/webhooks/bitbucket-cloud/main", cloudEvents, true)
		default:
			cloudHook(i, w.cloud.WebhookURL, cloudEvents, true)
		}
	}
	cloudHook(4, w.cloud.WebhookURL, cloudEvents, true)                                  // duplicated
	cloudHook(5, "https://ci.example.com/bitbucket/notify", []string{"repo:push"}, true) // foreign
	for i := range 9 {                                                                   // lib-9 has no hook
		switch i {
		case 1, 2: // missing events
			dcHook(i, w.dc.WebhookURL, dcEvents[:4], true)
		case 3: // disabled
			dcHook(i, w.dc.WebhookURL, dcEvents, false)
		default:
			dcHook(i, w.dc.WebhookURL, dcEvents, true)
		}
	}
	dcHook(4, w.dc.WebhookURL, dcEvents, true) // duplicated

	w.env = map[string]string{
		"ORBIT_ENDPOINT": w.server.URL, "ORBIT_API_KEY": w.server.AdminKey,
		"BITBUCKET_CLOUD_API_URL": w.sandbox.URL, "BITBUCKET_CLOUD_EMAIL": accEmail, "BITBUCKET_CLOUD_API_TOKEN": accCloudToken,
		"BITBUCKET_DC_API_URL": w.sandbox.URL, "BITBUCKET_DC_TOKEN": accDCToken,
	}
	return w
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// orbit runs the CLI in-process with the world's environment; stdin is not a
// terminal.
func (w *adoptWorld) orbit(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(context.Background(), args, env{getenv: func(k string) string { return w.env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), code
}

// hooksPerIntegration counts, per repository, the hooks to each Orbit URL.
func (w *adoptWorld) hooksPerIntegration() map[string]int {
	counts := map[string]int{}
	for _, h := range w.sandbox.Hooks() {
		if strings.Contains(h.URL, "/webhooks/") {
			counts[h.Namespace+"/"+h.Repository+" "+h.URL]++
		}
	}
	return counts
}

func TestAccAdopt(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test: skipped under -short (make test runs it)")
	}
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run (it runs the real terraform binary)")
	}
	w := newAdoptWorld(t)
	// The provider runs in this process and reads its configuration from the
	// environment, as the output's empty provider block says.
	for k, v := range w.env {
		t.Setenv(k, v)
	}
	who, stderr, code := w.orbit(t, "whoami")
	if code != 0 || !strings.Contains(who, "platform") || !strings.Contains(who, "admin") || !strings.Contains(who, "Bitbucket Cloud "+w.sandbox.URL+": Dev") {
		t.Errorf("orbit whoami exited %d:\n%s%s", code, who, stderr)
	}
	out := filepath.Join(t.TempDir(), "adopted")
	_, stderr, code = w.orbit(t, "adopt", "--space", w.spaceID, "--workspace", "acme", "--project", "PLAT", "--out", out, "--format", "json")
	if code != 0 {
		t.Fatalf("orbit adopt exited %d:\n%s", code, stderr)
	}
	t.Logf("orbit adopt:\n%s", stderr)
	var report struct {
		Summary    adopt.Summary     `json:"summary"`
		Imports    map[string]string `json:"imports"`
		Changes    []adopt.Change    `json:"changes"`
		Findings   []adopt.Finding   `json:"findings"`
		Duplicates []adopt.Duplicate `json:"duplicates"`
	}
	raw, err := os.ReadFile(filepath.Join(out, adopt.FileReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &report); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range report.Findings {
		kinds[f.Kind]++
	}
	wantKinds := map[string]int{
		adopt.KindMissingEvents: 4, adopt.KindDisabled: 2, adopt.KindDuplicate: 2, adopt.KindForeignURL: 1, adopt.KindOldURL: 1,
		adopt.KindBoundWithoutHook: 2, adopt.KindHookWithoutBinding: 11, adopt.KindTokenVariable: 2,
	}
	if !maps.Equal(kinds, wantKinds) {
		t.Errorf("findings by kind = %v, want %v", kinds, wantKinds)
	}
	if s := report.Summary; s.Repositories != 40 || s.RepositoriesNoHooks != 3 || s.HooksImported != 37 || s.HooksToCreate != 2 || s.Stacks != 29 || s.Bindings != 28 || s.Integrations != 2 {
		t.Errorf("summary = %+v", s)
	}
	// 2 integrations + 29 stacks + 28 bindings + 37 hooks.
	if len(report.Imports) != 96 {
		t.Errorf("the report imports %d objects, want 96", len(report.Imports))
	}

	tf := newTerraform(t, out, map[string]string{"main_api_token": accCloudToken, "corp_access_token": accDCToken})
	if _, code := tf.run("fmt", "-check", "-diff", "-recursive"); code != 0 {
		t.Fatal("terraform fmt -check failed")
	}
	tf.run("init", "-no-color")
	tf.run("validate", "-no-color")
	tf.run("plan", "-no-color", "-out=first.tfplan")
	plan := tf.showPlan("first.tfplan")

	if !maps.Equal(plan.imports, report.Imports) {
		t.Errorf("terraform imports %d objects, the report announced %d:\nplan:   %v\nreport: %v", len(plan.imports), len(report.Imports), plan.imports, report.Imports)
	}
	announced := map[string]string{}
	for _, c := range report.Changes {
		announced[c.Address] = c.Action
	}
	if !maps.Equal(plan.changes, announced) {
		t.Errorf("terraform plans changes the report did not announce, or not those it did:\nplan:   %v\nreport: %v", plan.changes, announced)
	}
	for addr, action := range plan.changes {
		if strings.Contains(action, "delete") || action == "replace" {
			t.Errorf("the plan destroys %s (%s)", addr, action)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	tf.run("apply", "-no-color", "first.tfplan")
	if _, code := tf.run("plan", "-no-color", "-detailed-exitcode"); code != 0 {
		t.Fatal("the plan after apply shows changes")
	}
	// Apply made every bound repository's hook right.
	for _, h := range w.sandbox.Hooks() {
		if h.URL == w.cloud.WebhookURL && (!h.Active || len(h.Events) < len(cloud.RequiredEvents())) {
			t.Errorf("after apply, hook %s of %s/%s is active=%t with events %v", h.ID, h.Namespace, h.Repository, h.Active, h.Events)
		}
	}

	// Refused: the output exists.
	if _, stderr, code := w.orbit(t, "adopt", "--space", w.spaceID, "--workspace", "acme", "--out", out, "--format", "json"); code != 1 || !strings.Contains(stderr, "refusing to overwrite") {
		t.Errorf("adopt into a used --out exited %d: %s", code, stderr)
	}
	// --dedupe without --yes and without a terminal deletes nothing.
	before := w.hooksPerIntegration()
	if _, stderr, code := w.orbit(t, "adopt", "--space", w.spaceID, "--workspace", "acme", "--project", "PLAT", "--out", t.TempDir(), "--dedupe"); code != 1 || !strings.Contains(stderr, "--yes") {
		t.Errorf("adopt --dedupe without --yes exited %d: %s", code, stderr)
	}
	if after := w.hooksPerIntegration(); !maps.Equal(before, after) {
		t.Fatalf("hooks changed without confirmation: %v -> %v", before, after)
	}
	second := t.TempDir()
	if _, stderr, code := w.orbit(t, "adopt", "--space", w.spaceID, "--workspace", "acme", "--project", "PLAT", "--out", second, "--dedupe", "--yes"); code != 0 {
		t.Fatalf("adopt --dedupe --yes exited %d: %s", code, stderr)
	}
	for key, n := range w.hooksPerIntegration() {
		if n != 1 {
			t.Errorf("after --dedupe, %s has %d hooks", key, n)
		}
	}
	if n := len(w.hooksPerIntegration()); n != 39 {
		t.Errorf("after --dedupe, %d repositories have Orbit hooks, want 39 (every repository but svc-29)", n)
	}
	md, err := os.ReadFile(filepath.Join(second, adopt.FileReportMarkdown))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "deleted 2 of the 2 duplicate hooks") {
		t.Errorf("the report after --dedupe does not say what was deleted:\n%s", md)
	}
	// The hooks in state were the ones kept.
	if _, code := tf.run("plan", "-no-color", "-detailed-exitcode"); code != 0 {
		t.Fatal("the plan after --dedupe shows changes")
	}
}
