package storetest

import (
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

func testIntegrationCRUD(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	for _, in := range []store.Integration{cloudIntegration("main-cloud", sp.ID), dcIntegration("main-dc", sp.ID)} {
		t.Run(string(in.Provider), func(t *testing.T) {
			created := must(s.CreateIntegration(ctx(t), in))(t)
			if created.ID == "" {
				t.Fatalf("no id generated")
			}
			checkTimestamps(t, created.CreatedAt, created.UpdatedAt, "integration create")
			want := in
			want.ID, want.CreatedAt, want.UpdatedAt = created.ID, created.CreatedAt, created.UpdatedAt
			want.Labels = slices.Sorted(slices.Values(in.Labels))
			equal(t, created, want, "create result")
			equal(t, must(s.GetIntegration(ctx(t), created.ID))(t), created, "get")
			equal(t, must(s.GetIntegrationByName(ctx(t), in.Provider, in.Name))(t), created, "get by name")

			// Update replaces every mutable field; provider and name stay.
			next := created
			next.Name = "renamed-ignored"
			next.Description, next.Labels, next.VCSChecks = "", nil, "all"
			next.Email, next.Username, next.AuthMethod = "other@example.com", "u2", "app_password"
			next.APIHost, next.UserFacingHost, next.UseGitCheckout = "private://pool-a", "https://bb.example.org", !created.UseGitCheckout
			next.SealedCredential = []byte("new-sealed")
			updated := must(s.UpdateIntegration(ctx(t), next))(t)
			want = next
			want.Name, want.Labels, want.UpdatedAt = created.Name, []string{}, updated.UpdatedAt
			equal(t, updated, want, "update result")
			if !updated.CreatedAt.Equal(created.CreatedAt) || updated.UpdatedAt.Before(created.UpdatedAt) {
				t.Fatalf("update timestamps %v/%v vs %v/%v", updated.CreatedAt, updated.UpdatedAt, created.CreatedAt, created.UpdatedAt)
			}
			equal(t, must(s.GetIntegration(ctx(t), created.ID))(t), updated, "get after update")
			_, err := s.GetIntegrationByName(ctx(t), in.Provider, "renamed-ignored")
			wantNotFound(t, err, "name must not change on update")

			mustNil(t, s.DeleteIntegration(ctx(t), created.ID))
			_, err = s.GetIntegration(ctx(t), created.ID)
			wantNotFound(t, err, "get deleted")
			_, err = s.GetIntegrationByName(ctx(t), in.Provider, in.Name)
			wantNotFound(t, err, "get deleted by name")
			wantNotFound(t, s.DeleteIntegration(ctx(t), created.ID), "delete deleted")
		})
	}
	_, err := s.CreateIntegration(ctx(t), cloudIntegration("orphan", "missing"))
	wantNotFound(t, err, "integration in a missing space")
}

func testIntegrationCredentialKept(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), dcIntegration("dc", store.RootSpaceID)))(t)
	next := in
	next.SealedCredential = nil
	next.SealedWebhookSecret = nil
	next.Description = "changed"
	up := must(s.UpdateIntegration(ctx(t), next))(t)
	if !slices.Equal(up.SealedCredential, in.SealedCredential) {
		t.Fatalf("nil credential on update replaced the stored one: %x, want %x", up.SealedCredential, in.SealedCredential)
	}
	if !slices.Equal(up.SealedWebhookSecret, in.SealedWebhookSecret) {
		t.Fatalf("update changed the webhook secret")
	}
	if up.Description != "changed" {
		t.Fatalf("description = %q", up.Description)
	}
	next.SealedCredential = []byte("replacement")
	up = must(s.UpdateIntegration(ctx(t), next))(t)
	got := must(s.GetIntegration(ctx(t), in.ID))(t)
	if !slices.Equal(got.SealedCredential, []byte("replacement")) || !slices.Equal(up.SealedCredential, got.SealedCredential) {
		t.Fatalf("credential not replaced: %q", got.SealedCredential)
	}
}

func testIntegrationNameUnique(t *testing.T, s store.Store) {
	first := must(s.CreateIntegration(ctx(t), cloudIntegration("shared", store.RootSpaceID)))(t)
	// Same name, other provider: allowed (the URLs differ by provider).
	other := must(s.CreateIntegration(ctx(t), dcIntegration("shared", store.RootSpaceID)))(t)
	if other.ID == first.ID {
		t.Fatalf("two integrations share id %q", other.ID)
	}
	sp := newSpace(t, s, "elsewhere", "")
	_, err := s.CreateIntegration(ctx(t), cloudIntegration("shared", sp.ID))
	wantConflict(t, err, "name", "same provider and name in another space")
	equal(t, must(s.GetIntegrationByName(ctx(t), store.ProviderBitbucketCloud, "shared"))(t), first, "first after conflict")
}

func testIntegrationOneDefault(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	def := cloudIntegration("default-cloud", "")
	def.IsDefault = true
	created := must(s.CreateIntegration(ctx(t), def))(t)
	if created.SpaceID != store.RootSpaceID {
		t.Fatalf("default integration space = %q, want root", created.SpaceID)
	}
	// The other provider may have its own default.
	dcDef := dcIntegration("default-dc", "")
	dcDef.IsDefault = true
	must(s.CreateIntegration(ctx(t), dcDef))(t)

	second := cloudIntegration("second-default", "")
	second.IsDefault = true
	_, err := s.CreateIntegration(ctx(t), second)
	wantConflict(t, err, "is_default", "second default on create")

	// Promoting a non-default when a default exists is refused too.
	plain := must(s.CreateIntegration(ctx(t), cloudIntegration("plain", sp.ID)))(t)
	promote := plain
	promote.IsDefault = true
	promote.SpaceID = ""
	promote.Description = "promoted"
	_, err = s.UpdateIntegration(ctx(t), promote)
	wantConflict(t, err, "is_default", "second default on update")
	equal(t, must(s.GetIntegration(ctx(t), plain.ID))(t), plain, "plain after refused promotion")

	// Updating the default itself keeps it default (no conflict with itself).
	created.Description = "still default"
	must(s.UpdateIntegration(ctx(t), created))(t)

	// Demote the default, then the other can be promoted.
	created.IsDefault = false
	must(s.UpdateIntegration(ctx(t), created))(t)
	promoted := must(s.UpdateIntegration(ctx(t), promote))(t)
	if !promoted.IsDefault || promoted.SpaceID != store.RootSpaceID {
		t.Fatalf("promoted = %+v", promoted)
	}
	// Default and non-defaults together: the non-default uniqueness is untouched.
	must(s.CreateIntegration(ctx(t), cloudIntegration("another", sp.ID)))(t)
}

func testIntegrationRecreate(t *testing.T, s store.Store) {
	first := must(s.CreateIntegration(ctx(t), cloudIntegration("again", store.RootSpaceID)))(t)
	mustNil(t, s.DeleteIntegration(ctx(t), first.ID))
	again := cloudIntegration("again", store.RootSpaceID)
	again.SealedWebhookSecret = []byte("a new secret")
	second := must(s.CreateIntegration(ctx(t), again))(t)
	if second.ID == first.ID {
		t.Fatalf("recreated integration reuses id %q", second.ID)
	}
	got := must(s.GetIntegrationByName(ctx(t), store.ProviderBitbucketCloud, "again"))(t)
	if got.ID != second.ID || !slices.Equal(got.SealedWebhookSecret, []byte("a new secret")) {
		t.Fatalf("by name after recreate = %+v", got)
	}
	// A deleted default frees the default slot as well.
	def := dcIntegration("d1", "")
	def.IsDefault = true
	d1 := must(s.CreateIntegration(ctx(t), def))(t)
	mustNil(t, s.DeleteIntegration(ctx(t), d1.ID))
	def.Name = "d2"
	must(s.CreateIntegration(ctx(t), def))(t)
}

func testIntegrationWebhookSecret(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("rotating", store.RootSpaceID)))(t)
	rotated := must(s.SetWebhookSecret(ctx(t), in.ID, []byte("rotated")))(t)
	want := in
	want.SealedWebhookSecret, want.UpdatedAt = []byte("rotated"), rotated.UpdatedAt
	// The replaced secret is kept, with the rotation time, for the receiver's grace period.
	want.PreviousSealedWebhookSecret, want.WebhookSecretRotatedAt = in.SealedWebhookSecret, rotated.UpdatedAt
	equal(t, rotated, want, "only the secret changes")
	equal(t, must(s.GetIntegration(ctx(t), in.ID))(t), rotated, "get after rotate")
	again := must(s.SetWebhookSecret(ctx(t), in.ID, []byte("rotated twice")))(t)
	if !slices.Equal(again.PreviousSealedWebhookSecret, []byte("rotated")) || !again.WebhookSecretRotatedAt.Equal(again.UpdatedAt) {
		t.Fatalf("second rotation: previous %q at %v", again.PreviousSealedWebhookSecret, again.WebhookSecretRotatedAt)
	}
	_, err := s.SetWebhookSecret(ctx(t), "missing", []byte("x"))
	wantNotFound(t, err, "rotate a missing integration")
}

func testNotFound(t *testing.T, s store.Store) {
	const missing = "does-not-exist"
	checks := map[string]error{}
	_, checks["GetSpace"] = s.GetSpace(ctx(t), missing)
	_, checks["UpdateSpace"] = s.UpdateSpace(ctx(t), store.Space{ID: missing, Name: "x"})
	checks["DeleteSpace"] = s.DeleteSpace(ctx(t), missing)
	_, checks["GetAPIKey"] = s.GetAPIKey(ctx(t), missing)
	checks["DeleteAPIKey"] = s.DeleteAPIKey(ctx(t), missing)
	_, checks["GetStack"] = s.GetStack(ctx(t), missing)
	_, checks["UpdateStack"] = s.UpdateStack(ctx(t), store.Stack{ID: missing, Name: "x", SpaceID: store.RootSpaceID})
	checks["DeleteStack"] = s.DeleteStack(ctx(t), missing)
	_, checks["GetIntegration"] = s.GetIntegration(ctx(t), missing)
	_, checks["GetIntegrationByName"] = s.GetIntegrationByName(ctx(t), store.ProviderBitbucketCloud, missing)
	_, checks["UpdateIntegration"] = s.UpdateIntegration(ctx(t), store.Integration{ID: missing, Provider: store.ProviderBitbucketCloud, Name: "x", SpaceID: store.RootSpaceID})
	_, checks["SetWebhookSecret"] = s.SetWebhookSecret(ctx(t), missing, []byte("x"))
	checks["DeleteIntegration"] = s.DeleteIntegration(ctx(t), missing)
	_, checks["GetStackBinding"] = s.GetStackBinding(ctx(t), missing)
	checks["DeleteStackBinding"] = s.DeleteStackBinding(ctx(t), missing, store.BindingAnyVersion)
	for name, err := range checks {
		wantNotFound(t, err, name)
	}
	if n := must(s.AllSpaces(ctx(t)))(t); len(n) != 1 {
		t.Fatalf("NotFound calls created spaces: %+v", n)
	}
}

func testPresetIDs(t *testing.T, s store.Store) {
	// The HTTP layer seals secrets with the id as associated data, so it picks
	// the id before the create: the store keeps a preset id.
	in := cloudIntegration("preset", store.RootSpaceID)
	in.ID = "int-preset-1"
	got := must(s.CreateIntegration(ctx(t), in))(t)
	if got.ID != "int-preset-1" {
		t.Fatalf("preset id replaced by %q", got.ID)
	}
	must(s.GetIntegration(ctx(t), "int-preset-1"))(t)
	dup := dcIntegration("other-name", store.RootSpaceID)
	dup.ID = "int-preset-1"
	_, err := s.CreateIntegration(ctx(t), dup)
	wantConflict(t, err, "id", "preset id already used")

	sp := must(s.CreateSpace(ctx(t), store.Space{ID: "space-preset", Name: "p"}))(t)
	if sp.ID != "space-preset" {
		t.Fatalf("space id = %q", sp.ID)
	}
	st := must(s.CreateStack(ctx(t), store.Stack{ID: "stack-preset", Name: "p", SpaceID: sp.ID}))(t)
	if st.ID != "stack-preset" {
		t.Fatalf("stack id = %q", st.ID)
	}
	k := must(s.CreateAPIKey(ctx(t), store.APIKey{ID: "k_preset", Name: "p", SecretHash: []byte{1}, Roles: []store.RoleBinding{{SpaceID: sp.ID, Role: store.RoleRead}}}))(t)
	if k.ID != "k_preset" {
		t.Fatalf("key id = %q", k.ID)
	}
}

// ---- lists ----

// testIntegrationKindIsData: the store keeps any kind the server's registry
// offers; which kinds exist is not the schema's to say.
func testIntegrationKindIsData(t *testing.T, s store.Store) {
	in := cloudIntegration("third", store.RootSpaceID)
	in.Provider = "some_other_vcs"
	created := must(s.CreateIntegration(ctx(t), in))(t)
	got := must(s.GetIntegration(ctx(t), created.ID))(t)
	equal(t, got.Provider, store.Provider("some_other_vcs"), "kind read back")
}
