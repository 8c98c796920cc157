package adopt

import (
	"fmt"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

const (
	testBase   = "https://orbit.example.com"
	testSpace  = "platform-k3v9q2m7xa"
	cloudID    = "main-cloud-4fj2k8s1qd"
	dcID       = "corp-datacenter-h7t2x9q4mb"
	otherID    = "legacy-cloud-9x8c7v6b5n"
	cloudFP    = "0123456789abcdef"
	cloudHooks = "/webhooks/bitbucket-cloud/main"
)

func testIntegrations() []orbitapi.Integration {
	return []orbitapi.Integration{
		{ID: cloudID, Provider: orbitapi.ProviderBitbucketCloud, Name: "main", SpaceID: testSpace, VCSChecks: "individual",
			WebhookURL: testBase + cloudHooks, WebhookSecretFingerprint: cloudFP, Email: new("ci@example.com"), AuthMethod: new(orbitapi.AuthMethodAPIToken)},
		{ID: dcID, Provider: orbitapi.ProviderBitbucketDataCenter, Name: "corp", SpaceID: testSpace, VCSChecks: "all", Labels: []string{"team:platform"},
			WebhookURL: testBase + "/webhooks/bitbucket-datacenter/corp", APIHost: new("https://bitbucket.example.com"), UserFacingHost: new("https://bitbucket.example.com"), Username: new("ci")},
		{ID: otherID, Provider: orbitapi.ProviderBitbucketCloud, Name: "legacy", SpaceID: "root", IsDefault: true,
			WebhookURL: testBase + "/webhooks/bitbucket-cloud/legacy", Email: new("old@example.com"), AuthMethod: new(orbitapi.AuthMethodAPIToken)},
	}
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func cloudHook(n int, url string) Hook {
	set := true
	return Hook{ID: fmt.Sprintf("{00000000-0000-4000-8000-%012d}", n), URL: url, Title: "Orbit", Active: true,
		Events: RequiredEvents(orbitapi.ProviderBitbucketCloud), SecretSet: &set, Created: epoch.Add(time.Duration(n) * time.Minute)}
}

// bigInventory: n Cloud repositories of workspace acme, each with one good hook and
// a stack bound to it.
func bigInventory(n int, stacks bool) *Inventory {
	inv := &Inventory{SpaceID: testSpace, SpaceName: "platform", Integrations: testIntegrations(),
		Bindings: map[string]orbitapi.StackVCSBinding{}, Scanned: []string{"bitbucket_cloud/acme"}}
	for i := range n {
		slug := fmt.Sprintf("service-%03d", i)
		inv.Repositories = append(inv.Repositories, Repository{Provider: orbitapi.ProviderBitbucketCloud, Namespace: "acme", Slug: slug,
			Hooks: []Hook{cloudHook(i, testBase+cloudHooks)}})
		if stacks {
			id := fmt.Sprintf("%s-%010d", slug, i)
			inv.Stacks = append(inv.Stacks, orbitapi.Stack{ID: id, Name: slug, SpaceID: testSpace})
			inv.Bindings[id] = orbitapi.StackVCSBinding{StackID: id, IntegrationID: cloudID, ProviderType: orbitapi.ProviderBitbucketCloud,
				Namespace: "acme", Repository: slug, Branch: "main", PullRequestRuns: true, Status: orbitapi.BindingAttached}
		}
	}
	return inv
}
