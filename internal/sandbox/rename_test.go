package sandbox_test

import (
	"encoding/json"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// TestRenameRepository: a renamed repository answers under its new slug only, keeps
// its uuid or id and its hooks, and Bitbucket's repository event goes to the hooks
// with the old and new name, in a payload orbit's parsers read as a rename. A taken
// name, an unknown repository or a name that is no slug is refused.
func TestRenameRepository(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)

	hook := c.cloudHook([]string{"repo:updated"}, ptr("k"), true, rc.URL)
	before := c.expect("GET", "/2.0/repositories/acme/infra", cloudAdmin(), nil, 200).json(t)
	c.expect("POST", "/_sandbox/rename", nil, sandbox.Rename{Product: "cloud", Workspace: "acme", Repository: "infra", NewName: "platform"}, 200)
	c.expect("GET", "/2.0/repositories/acme/infra", cloudAdmin(), nil, 404)
	after := c.expect("GET", "/2.0/repositories/acme/platform", cloudAdmin(), nil, 200).json(t)
	if after["uuid"] != before["uuid"] || after["full_name"] != "acme/platform" {
		t.Errorf("renamed repository: %v (before %v)", after, before)
	}
	c.expect("GET", "/2.0/repositories/acme/platform/hooks/"+hook, cloudAdmin(), nil, 200)
	got := rc.requests()
	if len(got) != 1 || got[0].header.Get("X-Event-Key") != "repo:updated" {
		t.Fatalf("deliveries after a Cloud rename: %d", len(got))
	}
	ev, err := cloud.ParseWebhook("repo:updated", got[0].body)
	if err != nil || ev.Rename == nil || ev.Rename.OldRepository != "infra" || ev.Rename.NewRepository != "platform" || ev.Repository != "platform" {
		t.Errorf("Cloud rename payload read as %+v (%v): %s", ev, err, got[0].body)
	}

	dcRC := newReceiver(t)
	c.dcHook([]string{"repo:modified"}, "k", dcRC.URL)
	c.expect("POST", "/_sandbox/rename", nil, sandbox.Rename{Product: "datacenter", Project: "PLAT", Repository: "infra", NewName: "platform"}, 200)
	c.expect("GET", dcRepoPath, dcAdmin(), nil, 404)
	renamed := c.expect("GET", "/rest/api/latest/projects/PLAT/repos/platform", dcAdmin(), nil, 200).json(t)
	hooks := c.expect("GET", "/rest/api/latest/projects/PLAT/repos/platform/webhooks", dcAdmin(), nil, 200).json(t)
	if renamed["slug"] != "platform" || hooks["size"] != float64(1) {
		t.Errorf("renamed DC repository %v, hooks %v", renamed, hooks)
	}
	// The repository's own token follows it.
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/platform", bearer(dcRepoAdminToken), nil, 200)
	dcGot := dcRC.requests()
	if len(dcGot) != 1 {
		t.Fatalf("deliveries after a DC rename: %d", len(dcGot))
	}
	dcEv, err := datacenter.ParseWebhook("repo:modified", dcGot[0].body)
	if err != nil || dcEv.Rename == nil || dcEv.Rename.OldRepository != "infra" || dcEv.Rename.NewRepository != "platform" {
		var body map[string]any
		_ = json.Unmarshal(dcGot[0].body, &body)
		t.Errorf("DC rename payload read as %+v (%v): %v", dcEv, err, body)
	}

	for _, bad := range []sandbox.Rename{
		{Product: "cloud", Workspace: "acme", Repository: "platform", NewName: "app"},
		{Product: "cloud", Workspace: "acme", Repository: "nope", NewName: "other"},
		{Product: "datacenter", Project: "PLAT", Repository: "platform", NewName: "Not A Slug"},
	} {
		c.expect("POST", "/_sandbox/rename", nil, bad, 400)
	}
}
