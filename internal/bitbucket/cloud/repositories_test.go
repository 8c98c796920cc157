package cloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// Every page is read, and q narrows the list on the server.
func TestSandboxListRepositories(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	var repos []sandbox.CloudRepository
	for i := range 205 {
		key := "PLAT"
		if i%5 == 0 {
			key = "OPS"
		}
		repos = append(repos, sandbox.CloudRepository{Workspace: "many", Slug: fmt.Sprintf("repo-%03d", i), ProjectKey: key, MainBranch: "trunk"})
	}
	if err := sb.Seed(sandbox.Seed{Cloud: sandbox.CloudSeed{Workspaces: []sandbox.CloudWorkspace{{Slug: "many"}}, Repositories: repos}}); err != nil {
		t.Fatal(err)
	}
	c := client(t, sb, cloud.APIToken(sbEmail, sbReadToken))
	ctx := context.Background()

	all, err := c.ListRepositories(ctx, "many", cloud.RepositoryListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 205 || all[204].Slug != "repo-204" || all[0].MainBranch == nil || all[0].MainBranch.Name != "trunk" || all[0].Links.HTML.Href == "" {
		t.Fatalf("listed %d repositories, first %+v", len(all), all[0])
	}
	ops, err := c.ListRepositories(ctx, "many", cloud.RepositoryListOptions{Query: `project.key="OPS"`, Sort: "-slug"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 41 || ops[0].Slug != "repo-200" || ops[0].Project == nil || ops[0].Project.Key != "OPS" {
		t.Fatalf("q project.key=OPS sorted -slug: %d repositories, first %+v", len(ops), ops[0])
	}
	if _, err := c.ListRepositories(ctx, "many", cloud.RepositoryListOptions{Query: `nosuch = "x"`}); err == nil {
		t.Fatal("an invalid query listed repositories")
	}
}

// HookEvents is the description's enum, and the required events are all valid.
func TestHookEventsMatchDescription(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../../testdata/bitbucket/openapi/cloud-openapi3.json")
	if err != nil {
		t.Fatalf("the Cloud description is checked in under testdata: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				AllOf []struct {
					Properties map[string]struct {
						Items struct {
							Enum []string `json:"enum"`
						} `json:"items"`
					} `json:"properties"`
				} `json:"allOf"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var enum []string
	for _, part := range doc.Components.Schemas["webhook_subscription"].AllOf {
		if e, ok := part.Properties["events"]; ok {
			enum = e.Items.Enum
		}
	}
	if len(enum) == 0 {
		t.Fatal("no events enum in webhook_subscription")
	}
	got := slices.Sorted(slices.Values(cloud.HookEvents))
	if !slices.Equal(got, slices.Sorted(slices.Values(enum))) {
		t.Errorf("HookEvents = %v, description = %v", got, enum)
	}
	for _, e := range cloud.RequiredEvents() {
		if !slices.Contains(cloud.HookEvents, e) {
			t.Errorf("required event %q is not a hook event", e)
		}
	}
}
