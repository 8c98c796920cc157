package datacenter_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

func TestSandboxListRepositories(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	var repos []sandbox.DataCenterRepository
	for i := range 130 {
		repos = append(repos, sandbox.DataCenterRepository{Project: "PLAT", Slug: fmt.Sprintf("repo-%03d", i)})
	}
	if err := sb.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{Repositories: repos}}); err != nil {
		t.Fatal(err)
	}
	c := client(t, sb, sbReadToken)
	all, err := c.ListRepositories(context.Background(), "PLAT")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 132 { // and infra, big
		t.Fatalf("listed %d repositories, want 132", len(all))
	}
	if all[0].Project.Key != "PLAT" || all[0].HTMLURL() == "" {
		t.Fatalf("first repository %+v", all[0])
	}
	if _, err := c.ListRepositories(context.Background(), ""); err == nil {
		t.Fatal("an empty project key was accepted")
	}
}

func TestRequiredEventsAreWebhookEvents(t *testing.T) {
	t.Parallel()
	for _, e := range datacenter.RequiredEvents() {
		if !slices.Contains(datacenter.WebhookEvents, e) {
			t.Errorf("required event %q is not a webhook event", e)
		}
	}
	for _, avoided := range []string{"pr:reviewer:changes_requested", "pr:to_ref_updated"} {
		if slices.Contains(datacenter.RequiredEvents(), avoided) {
			t.Errorf("%s is in the defaults; some servers reject it", avoided)
		}
	}
}
