package datacenter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
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

func TestSandboxDefaultBranch(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	err := sb.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{Repositories: []sandbox.DataCenterRepository{
		{Project: "PLAT", Slug: "legacy", DefaultBranch: "develop"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := client(t, sb, sbReadToken)
	got, err := c.DefaultBranch(ctx, "PLAT", "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if want := (datacenter.Ref{ID: "refs/heads/develop", DisplayID: "develop", Type: "BRANCH"}); got != want {
		t.Fatalf("default branch %+v, want %+v", got, want)
	}
	if _, err := c.DefaultBranch(ctx, "PLAT", "missing"); !bitbucket.IsNotFound(err) {
		t.Fatalf("unknown repository: %v, want a 404", err)
	}
	if _, err := client(t, sb, sbOtherToken).DefaultBranch(ctx, "PLAT", "legacy"); !bitbucket.IsNotFound(err) {
		t.Fatalf("a token of another project: %v, want a 404", err)
	}
	for _, args := range [][2]string{{"", "legacy"}, {"PLAT", " "}} {
		var verr *bitbucket.ValidationError
		if _, err := c.DefaultBranch(ctx, args[0], args[1]); !errors.As(err, &verr) {
			t.Fatalf("DefaultBranch(%q, %q): %v, want a validation error", args[0], args[1], err)
		}
	}
}
