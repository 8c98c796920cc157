package adopt

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

func TestMatch(t *testing.T) {
	m := NewMatcher(testIntegrations())
	cloud, dc := orbitapi.ProviderBitbucketCloud, orbitapi.ProviderBitbucketDataCenter
	for _, tc := range []struct {
		product, url string
		want         URLMatch
		integration  string
	}{
		{cloud, testBase + cloudHooks, Exact, cloudID},
		{cloud, testBase + cloudHooks + "/", Equivalent, cloudID},
		{cloud, testBase + cloudHooks + "//", Equivalent, cloudID},
		{cloud, "HTTPS://Orbit.Example.COM" + cloudHooks, Equivalent, cloudID},
		{cloud, "https://orbit.example.com:443" + cloudHooks, Equivalent, cloudID},
		{cloud, "https://orbit.example.com//webhooks//bitbucket-cloud/main", Equivalent, cloudID},
		// Another base: orbit-server's old address, or a path prefix of a proxy.
		{cloud, "http://orbit-old.internal:8700" + cloudHooks, Old, cloudID},
		{cloud, "https://gw.example.com/orbit" + cloudHooks + "/", Old, cloudID},
		// The name or the product segment in other case or spelling reach no route.
		{cloud, testBase + "/webhooks/bitbucket-cloud/MAIN", Old, cloudID},
		{cloud, testBase + "/Webhooks/Bitbucket_Cloud/main", Old, cloudID},
		{cloud, "https://orbit.example.com:8443" + cloudHooks, Old, cloudID},
		{dc, testBase + "/webhooks/bitbucket-datacenter/corp", Exact, dcID},
		// A name no integration has, or a Data Center integration on a Cloud repository.
		{cloud, testBase + "/webhooks/bitbucket-cloud/deleted", UnknownOrbit, ""},
		{cloud, testBase + "/webhooks/bitbucket-datacenter/corp", UnknownOrbit, ""},
		{dc, testBase + cloudHooks, UnknownOrbit, ""},
		// Not Orbit's at all.
		{cloud, "https://ci.example.com/bitbucket-hook", Foreign, ""},
		{cloud, "https://ci.example.com/webhooks/main", Foreign, ""},
		{cloud, "not a url", Foreign, ""},
	} {
		in, got := m.Match(tc.product, tc.url)
		id := ""
		if in != nil {
			id = in.ID
		}
		if got != tc.want || id != tc.integration {
			t.Errorf("Match(%s, %q) = %s %q, want %s %q", tc.product, tc.url, got, id, tc.want, tc.integration)
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://Orbit.Example.com:443/webhooks/x/": "https://orbit.example.com/webhooks/x",
		"http://orbit.example.com:80/a//b":          "http://orbit.example.com/a/b",
		"http://orbit.example.com:8080/a?q=1#f":     "http://orbit.example.com:8080/a",
		"https://[::1]:443/a":                       "https://[::1]/a",
		"https://[::1]:8443/a":                      "https://[::1]:8443/a",
		"https://orbit.example.com/A":               "https://orbit.example.com/A",
	} {
		if got, ok := NormalizeURL(in); !ok || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %t; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "ftp://x/y", "/relative/path", "https://"} {
		if got, ok := NormalizeURL(bad); ok {
			t.Errorf("NormalizeURL(%q) = %q, want not ok", bad, got)
		}
	}
}

// messyInventory has one of every problem the report names.
func messyInventory() *Inventory {
	inv := bigInventory(10, true)
	repo := func(slug string) *Repository {
		for i := range inv.Repositories {
			if inv.Repositories[i].Slug == slug {
				return &inv.Repositories[i]
			}
		}
		panic(slug)
	}
	repo("service-001").Hooks[0].Events = []string{"repo:push"}
	repo("service-002").Hooks[0].Active = false
	no := false
	repo("service-003").Hooks[0].SecretSet = &no
	// A duplicate, made later, disabled: the first hook is kept.
	dup := cloudHook(104, testBase+cloudHooks)
	dup.Active = false
	repo("service-004").Hooks = append(repo("service-004").Hooks, dup)
	// A duplicate at the exact URL beats an older one at an old URL.
	repo("service-005").Hooks[0].URL = "https://orbit-old.example.com" + cloudHooks
	repo("service-005").Hooks = append(repo("service-005").Hooks, cloudHook(105, testBase+cloudHooks))
	repo("service-006").Hooks = append(repo("service-006").Hooks, cloudHook(106, "https://ci.example.com/hook"),
		cloudHook(107, testBase+"/webhooks/bitbucket-cloud/gone"))
	repo("service-007").Hooks = nil
	repo("service-008").Hooks[0].URL = testBase + cloudHooks + "/"
	// A hook to the default integration of root, no binding through it: not ours.
	repo("service-009").Hooks = append(repo("service-009").Hooks, cloudHook(109, testBase+"/webhooks/bitbucket-cloud/legacy"))
	// A repository with a hook but no stack.
	inv.Repositories = append(inv.Repositories, Repository{Provider: orbitapi.ProviderBitbucketCloud, Namespace: "acme", Slug: "docs",
		Hooks: []Hook{cloudHook(200, testBase+cloudHooks)}})
	// A detached binding, and a binding to a project not scanned.
	bd := inv.Bindings["service-000-0000000000"]
	bd.Status, bd.DetachedReason = orbitapi.BindingDetached, "integration deleted"
	inv.Bindings["service-000-0000000000"] = bd
	inv.Stacks = append(inv.Stacks, orbitapi.Stack{ID: "dc-stack-1", Name: "dc-stack", SpaceID: testSpace})
	inv.Bindings["dc-stack-1"] = orbitapi.StackVCSBinding{StackID: "dc-stack-1", IntegrationID: dcID, ProviderType: orbitapi.ProviderBitbucketDataCenter,
		Namespace: "PLAT", Repository: "lib", Branch: "main", Status: orbitapi.BindingAttached}
	return inv
}

func findingsOf(r *Result, kind string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func TestBuildReport(t *testing.T) {
	r := Build(messyInventory())
	type want struct {
		repository, action, address string
	}
	hook := func(slug string) string { return `orbit_bitbucket_repository_webhook.main["` + slug + `"]` }
	for kind, wants := range map[string][]want{
		KindMissingEvents:      {{"acme/service-001", ActionUpdate, hook("service-001")}},
		KindDisabled:           {{"acme/service-002", ActionUpdate, hook("service-002")}},
		KindNoSecret:           {{"acme/service-003", ActionUpdate, hook("service-003")}},
		KindDuplicate:          {{"acme/service-004", ActionNone, ""}, {"acme/service-005", ActionNone, ""}},
		KindForeignURL:         {{"acme/service-006", ActionNone, ""}},
		KindUnknownOrbitURL:    {{"acme/service-006", ActionNone, ""}},
		KindBoundWithoutHook:   {{"acme/service-007", ActionCreate, hook("service-007")}},
		KindURLSpelling:        {{"acme/service-008", ActionUpdate, hook("service-008")}},
		KindOtherSpace:         {{"acme/service-009", ActionNone, ""}},
		KindHookWithoutBinding: {{"acme/docs", ActionNone, hook("docs")}},
		KindBindingDetached:    {{"acme/service-000", ActionUpdate, `orbit_stack_vcs_binding.platform["service-000"]`}},
		KindBindingNotScanned:  {{"PLAT/lib", ActionNone, ""}},
		KindTokenVariable:      {{"", ActionUpdate, "orbit_bitbucket_cloud_integration.main"}, {"", ActionUpdate, "orbit_bitbucket_datacenter_integration.corp"}},
		KindOldURL:             nil, // service-005's old-URL hook is the duplicate, not the one kept
	} {
		got := findingsOf(r, kind)
		if len(got) != len(wants) {
			t.Errorf("%s: %d findings, want %d: %+v", kind, len(got), len(wants), got)
			continue
		}
		for i, w := range wants {
			if got[i].Repository != w.repository || got[i].Action != w.action || got[i].Address != w.address || got[i].Apply == "" || got[i].Detail == "" {
				t.Errorf("%s[%d] = %+v, want %+v", kind, i, got[i], w)
			}
		}
	}
	kept := map[string]string{}
	for _, d := range r.Duplicates {
		kept[d.Repository] = d.HookID + " kept " + d.KeptHookID
	}
	if want := cloudHook(104, "").ID + " kept " + cloudHook(4, "").ID; kept["acme/service-004"] != want {
		t.Errorf("service-004: %s, want %s (the active, older one kept)", kept["acme/service-004"], want)
	}
	if want := cloudHook(5, "").ID + " kept " + cloudHook(105, "").ID; kept["acme/service-005"] != want {
		t.Errorf("service-005: %s, want %s (the one at the current URL kept)", kept["acme/service-005"], want)
	}

	// Every change is announced once, by address; only updates and creates.
	changes := map[string]string{}
	for _, c := range r.Changes() {
		changes[c.Address] = c.Action
	}
	wantChanges := map[string]string{
		hook("service-001"): ActionUpdate, hook("service-002"): ActionUpdate, hook("service-003"): ActionUpdate,
		hook("service-007"): ActionCreate, hook("service-008"): ActionUpdate,
		`orbit_stack_vcs_binding.platform["service-000"]`: ActionUpdate,
		"orbit_bitbucket_cloud_integration.main":          ActionUpdate, "orbit_bitbucket_datacenter_integration.corp": ActionUpdate,
	}
	if len(changes) != len(wantChanges) {
		t.Errorf("changes = %v, want %v", changes, wantChanges)
	}
	for a, action := range wantChanges {
		if changes[a] != action {
			t.Errorf("change of %s = %q, want %q", a, changes[a], action)
		}
	}
	// service-007 is created, not imported; the duplicates are neither.
	imports := r.Imports()
	if _, ok := imports[hook("service-007")]; ok {
		t.Error("the hook apply creates is imported")
	}
	if got, want := imports[hook("service-005")], cloudID+"/acme/service-005/"+cloudHook(105, "").ID; got != want {
		t.Errorf("service-005 imports %q, want %q", got, want)
	}

	// The JSON and Markdown reports carry the same findings.
	var decoded struct {
		Findings []Finding `json:"findings"`
		Changes  []Change  `json:"changes"`
		Summary  Summary   `json:"summary"`
	}
	if err := json.Unmarshal(r.JSON(), &decoded); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(decoded.Findings, r.Findings) || len(decoded.Changes) != len(wantChanges) || decoded.Summary != r.Summary {
		t.Error("the JSON report differs from the result")
	}
	md := string(r.Markdown())
	for _, s := range []string{"## Hooks missing default events (1)", "## Disabled hooks (1)", "## Several hooks to the same integration on one repository (2)",
		"## Repositories bound to stacks without a hook (1)", "## Hooks without a binding (1)", "## Hooks pointing at an unknown Orbit URL (1)",
		"| `" + hook("service-007") + "` | create | bound_without_hook |", "orbit adopt --dedupe deletes it"} {
		if !strings.Contains(md, s) {
			t.Errorf("the Markdown report lacks %q:\n%s", s, md)
		}
	}
	if s := r.Summary; s.Repositories != 11 || s.Duplicates != 2 || s.HooksForeign != 1 || s.HooksUnknownOrbit != 1 || s.HooksOtherSpace != 1 || s.HooksToCreate != 1 || s.RepositoriesNoHooks != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func TestRenderOddHooksAndEscaping(t *testing.T) {
	inv := bigInventory(8, false)
	for i := range 3 { // three hooks with a title of their own: a for_each of their own
		inv.Repositories[i].Hooks[0].Title = "CI ${notatemplate}"
	}
	inv.Repositories[3].Hooks[0].SkipCertVerification = true // one odd hook: a block of its own
	inv.Repositories[4].Hooks[0].Events = append(inv.Repositories[4].Hooks[0].Events, "repo:fork")
	r := Build(inv)
	files := Render(r)
	hooks := string(files[FileWebhooks])
	parse(t, FileWebhooks, files[FileWebhooks])
	for _, s := range []string{
		`resource "orbit_bitbucket_repository_webhook" "main" {`,
		`resource "orbit_bitbucket_repository_webhook" "main_2" {`,
		`title          = "CI $${notatemplate}"`,
		`resource "orbit_bitbucket_repository_webhook" "main_service_003" {`,
		`skip_cert_verification = true`,
		`resource "orbit_bitbucket_repository_webhook" "main_service_004" {`,
		`"repo:fork"`,
	} {
		if !strings.Contains(hooks, s) {
			t.Errorf("webhooks.tf lacks %q:\n%s", s, hooks)
		}
	}
	if _, ok := files[FileStacks]; ok {
		t.Error("stacks.tf written without stacks")
	}
}

// TestRenderSize: 300 repositories, each with a hook and a bound stack, stay a few
// hundred lines: one line per repository in each map, not a block per object.
func TestRenderSize(t *testing.T) {
	for _, tc := range []struct {
		stacks   bool
		maxLines int
	}{{false, 400}, {true, 750}} {
		r := Build(bigInventory(300, tc.stacks))
		files := Render(r)
		total := 0
		for name, content := range files {
			parse(t, name, content)
			n := bytes.Count(content, []byte("\n"))
			total += n
			t.Logf("stacks=%t %s: %d lines", tc.stacks, name, n)
		}
		t.Logf("stacks=%t: %d lines in all for 300 repositories", tc.stacks, total)
		if total > tc.maxLines {
			t.Errorf("stacks=%t: %d lines for 300 repositories, want at most %d", tc.stacks, total, tc.maxLines)
		}
		if n := strings.Count(string(files[FileWebhooks]), "resource "); n != 1 {
			t.Errorf("webhooks.tf has %d resource blocks, want 1 for_each", n)
		}
		if n := strings.Count(string(files[FileWebhooks]), "import {"); n != 1 {
			t.Errorf("webhooks.tf has %d import blocks, want 1 for_each", n)
		}
	}
}

// parse fails the test unless content is valid HCL that formatting leaves as is.
func parse(t *testing.T, name string, content []byte) {
	t.Helper()
	if _, diags := hclsyntax.ParseConfig(content, name, hcl.InitialPos); diags.HasErrors() {
		t.Fatalf("%s does not parse: %s\n%s", name, diags.Error(), content)
	}
	if !bytes.Equal(format(string(content)), content) {
		t.Errorf("%s is not formatted", name)
	}
}

func TestWriteFilesRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileStacks), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{FileVersions: []byte("v\n"), FileStacks: []byte("s\n")}
	err := WriteFiles(dir, files, false)
	var existing *ExistingFilesError
	if !errors.As(err, &existing) || !slices.Equal(existing.Files, []string{FileStacks}) {
		t.Fatalf("WriteFiles over an existing stacks.tf: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, FileStacks)); string(got) != "# mine\n" {
		t.Errorf("stacks.tf was changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, FileVersions)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("versions.tf was written although the run was refused: %v", err)
	}

	// --force overwrites, and removes what an earlier run wrote that this one does not.
	if err := os.WriteFile(filepath.Join(dir, FileWebhooks), []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("user's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, files, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, FileStacks)); string(got) != "s\n" {
		t.Errorf("stacks.tf after --force = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, FileWebhooks)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale webhooks.tf stays: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "main.tf")); string(got) != "user's\n" {
		t.Errorf("a file adopt never writes was touched: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// A new directory is created.
	sub := filepath.Join(dir, "new", "out")
	if err := WriteFiles(sub, files, false); err != nil {
		t.Fatal(err)
	}
}
