package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// ---- stack VCS bindings ----

func newStack(t *testing.T, s store.Store, name, spaceID string) store.Stack {
	t.Helper()
	return must(s.CreateStack(ctx(t), store.Stack{Name: name, SpaceID: spaceID}))(t)
}

func binding(stackID, integrationID, namespace, repository string) store.StackBinding {
	return store.StackBinding{
		StackID: stackID, IntegrationID: integrationID, Namespace: namespace, Repository: repository,
		Branch: "main", ProjectRoot: "envs/prod", PullRequestRuns: true,
		AdditionalProjectGlobs: []string{"modules/**", "shared/*.tf"},
	}
}

func bindingStackID(b store.StackBinding) string { return b.StackID }

func testBindingCRUD(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	st := newStack(t, s, "network", sp.ID)
	dc := must(s.CreateIntegration(ctx(t), dcIntegration("dc", sp.ID)))(t)
	cloud := must(s.CreateIntegration(ctx(t), cloudIntegration("cloud", store.RootSpaceID)))(t)

	b, created, err := s.SetStackBinding(ctx(t), binding(st.ID, dc.ID, "PLAT", "infra"), store.BindingCreateOnly)
	mustNil(t, err)
	if !created {
		t.Fatal("first SetStackBinding: created = false")
	}
	want := binding(st.ID, dc.ID, "PLAT", "infra")
	want.Provider, want.Status, want.Host, want.StackSpaceID = store.ProviderBitbucketDataCenter, store.BindingAttached, dc.UserFacingHost, sp.ID
	want.CreatedAt, want.UpdatedAt, want.Version = b.CreatedAt, b.UpdatedAt, b.Version
	if b.Version == "" {
		t.Fatal("created binding has no version")
	}
	equal(t, b, want, "created binding")
	checkTimestamps(t, b.CreatedAt, b.UpdatedAt, "binding create")
	equal(t, must(s.GetStackBinding(ctx(t), st.ID))(t), b, "get binding")

	// Replacing moves it in place, to another integration of another provider too;
	// the provider follows the integration, whatever the caller passed.
	next := binding(st.ID, cloud.ID, "acme", "app")
	next.Branch, next.ProjectRoot, next.PullRequestRuns, next.Provider = "release", "", false, store.ProviderBitbucketDataCenter
	next.AdditionalProjectGlobs = nil // replacing drops the globs too
	up, created, err := s.SetStackBinding(ctx(t), next, b.Version)
	mustNil(t, err)
	if created {
		t.Fatal("second SetStackBinding: created = true")
	}
	want = next
	want.Provider, want.Status, want.Host, want.StackSpaceID = store.ProviderBitbucketCloud, store.BindingAttached, "", sp.ID
	want.CreatedAt, want.UpdatedAt, want.Version = b.CreatedAt, up.UpdatedAt, up.Version
	if up.Version == b.Version {
		t.Fatal("replacing kept the version")
	}
	equal(t, up, want, "replaced binding")
	if up.UpdatedAt.Before(b.UpdatedAt) {
		t.Fatalf("updated_at went back: %v < %v", up.UpdatedAt, b.UpdatedAt)
	}
	equal(t, must(s.ListIntegrationBindings(ctx(t), cloud.ID))(t), []store.StackBinding{up}, "bindings of the new integration")
	equal(t, must(s.ListIntegrationBindings(ctx(t), dc.ID))(t), []store.StackBinding{}, "bindings of the old integration")

	if err := s.DeleteStackBinding(ctx(t), st.ID, b.Version); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("delete with the replaced version: %v, want ErrVersionMismatch", err)
	}
	mustNil(t, s.DeleteStackBinding(ctx(t), st.ID, up.Version))
	_, err = s.GetStackBinding(ctx(t), st.ID)
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "binding" {
		t.Fatalf("get deleted binding: %v, want NotFoundError{binding}", err)
	}
	must(s.GetStack(ctx(t), st.ID))(t) // the stack stays
	wantNotFound(t, s.DeleteStackBinding(ctx(t), st.ID, store.BindingAnyVersion), "delete a deleted binding")
}

func testBindingMissingReferences(t *testing.T, s store.Store) {
	st := newStack(t, s, "network", store.RootSpaceID)
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("cloud", store.RootSpaceID)))(t)
	for _, tc := range []struct {
		b    store.StackBinding
		kind string
	}{
		{binding("missing", in.ID, "acme", "infra"), "stack"},
		{binding(st.ID, "missing", "acme", "infra"), "integration"},
	} {
		_, _, err := s.SetStackBinding(ctx(t), tc.b, store.BindingCreateOnly)
		var nf *store.NotFoundError
		if !errors.As(err, &nf) || nf.Kind != tc.kind {
			t.Fatalf("SetStackBinding(%+v): %v, want NotFoundError{%s}", tc.b, err, tc.kind)
		}
	}
	if _, err := s.GetStackBinding(ctx(t), st.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed SetStackBinding left a binding: %v", err)
	}
}

func testBindingDetachAndReattach(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	a := newStack(t, s, "a", sp.ID)
	b := newStack(t, s, "b", sp.ID)
	other := newStack(t, s, "other", sp.ID)
	dc := must(s.CreateIntegration(ctx(t), dcIntegration("dc", sp.ID)))(t)
	keep := must(s.CreateIntegration(ctx(t), dcIntegration("keep", sp.ID)))(t)
	boundA := must3(s.SetStackBinding(ctx(t), binding(a.ID, dc.ID, "PLAT", "infra"), store.BindingCreateOnly))(t)
	must3(s.SetStackBinding(ctx(t), binding(b.ID, dc.ID, "PLAT", "app"), store.BindingCreateOnly))(t)
	boundOther := must3(s.SetStackBinding(ctx(t), binding(other.ID, keep.ID, "PLAT", "infra"), store.BindingCreateOnly))(t)

	// Deleting an integration in use succeeds and detaches only its bindings.
	mustNil(t, s.DeleteIntegration(ctx(t), dc.ID))
	detached := must(s.GetStackBinding(ctx(t), a.ID))(t)
	if detached.Status != store.BindingDetached || detached.IntegrationID != dc.ID ||
		!strings.Contains(detached.DetachedReason, `"dc"`) || detached.Host != dc.UserFacingHost {
		t.Fatalf("binding after its integration was deleted = %+v", detached)
	}
	want := boundA
	want.Status, want.DetachedReason, want.UpdatedAt = store.BindingDetached, detached.DetachedReason, detached.UpdatedAt
	equal(t, detached, want, "only status, reason and updated_at change on detach")
	equal(t, must(s.GetStackBinding(ctx(t), other.ID))(t), boundOther, "a binding of another integration")
	must(s.GetStack(ctx(t), a.ID))(t)
	equal(t, ids(must(s.ListIntegrationBindings(ctx(t), dc.ID))(t), bindingStackID), sortedIDs(a.ID, b.ID),
		"detached bindings still name the deleted integration")
	equal(t, must(s.ListBindingsForRepository(ctx(t), dc.ID, "PLAT", "infra"))(t), []store.StackBinding{}, "detached bindings take no webhooks")

	// Recreating the name re-attaches nothing.
	again := must(s.CreateIntegration(ctx(t), dcIntegration("dc", sp.ID)))(t)
	equal(t, must(s.ListIntegrationBindings(ctx(t), again.ID))(t), []store.StackBinding{}, "bindings of the recreated integration")
	if got := must(s.GetStackBinding(ctx(t), b.ID))(t); got.Status != store.BindingDetached {
		t.Fatalf("recreating the integration re-attached %+v", got)
	}

	// Pointing the binding at an integration re-attaches it.
	re, created, err := s.SetStackBinding(ctx(t), binding(a.ID, again.ID, "PLAT", "infra"), detached.Version)
	mustNil(t, err)
	if created || re.Status != store.BindingAttached || re.DetachedReason != "" || re.IntegrationID != again.ID {
		t.Fatalf("re-attached binding = %+v (created %v)", re, created)
	}
	equal(t, must(s.ListBindingsForRepository(ctx(t), again.ID, "PLAT", "infra"))(t), []store.StackBinding{re}, "re-attached binding takes webhooks")
}

func testBindingsForRepository(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	cloud := must(s.CreateIntegration(ctx(t), cloudIntegration("cloud", sp.ID)))(t)
	second := must(s.CreateIntegration(ctx(t), cloudIntegration("second", sp.ID)))(t)
	var infra []store.StackBinding
	for _, name := range []string{"prod", "staging"} {
		st := newStack(t, s, name, sp.ID)
		b := binding(st.ID, cloud.ID, "acme", "infra")
		b.Branch = name
		infra = append(infra, must3(s.SetStackBinding(ctx(t), b, store.BindingCreateOnly))(t))
	}
	must3(s.SetStackBinding(ctx(t), binding(newStack(t, s, "app", sp.ID).ID, cloud.ID, "acme", "app"), store.BindingCreateOnly))(t)
	must3(s.SetStackBinding(ctx(t), binding(newStack(t, s, "elsewhere", sp.ID).ID, cloud.ID, "other", "infra"), store.BindingCreateOnly))(t)
	must3(s.SetStackBinding(ctx(t), binding(newStack(t, s, "via-second", sp.ID).ID, second.ID, "acme", "infra"), store.BindingCreateOnly))(t)

	got := must(s.ListBindingsForRepository(ctx(t), cloud.ID, "acme", "infra"))(t)
	equal(t, ids(got, bindingStackID), sortedIDs(infra[0].StackID, infra[1].StackID), "bindings for acme/infra")
	for _, b := range got {
		if b.StackSpaceID != sp.ID || b.Status != store.BindingAttached {
			t.Fatalf("binding for repository = %+v", b)
		}
	}
	equal(t, must(s.ListBindingsForRepository(ctx(t), cloud.ID, "ACME", "infra"))(t), []store.StackBinding{}, "namespaces compare exactly")
	equal(t, must(s.ListBindingsForRepository(ctx(t), "missing", "acme", "infra"))(t), []store.StackBinding{}, "unknown integration")
}

func testBindingGoesWithStack(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	st := newStack(t, s, "network", sp.ID)
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("cloud", store.RootSpaceID)))(t)
	must3(s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "infra"), store.BindingCreateOnly))(t)
	// Moving the stack is seen by the binding.
	must(s.UpdateStack(ctx(t), store.Stack{ID: st.ID, Name: st.Name, SpaceID: store.RootSpaceID}))(t)
	if got := must(s.GetStackBinding(ctx(t), st.ID))(t); got.StackSpaceID != store.RootSpaceID {
		t.Fatalf("binding after moving the stack: space %q", got.StackSpaceID)
	}
	mustNil(t, s.DeleteStack(ctx(t), st.ID))
	wantNotFound(t, func() error { _, err := s.GetStackBinding(ctx(t), st.ID); return err }(), "binding of a deleted stack")
	equal(t, must(s.ListIntegrationBindings(ctx(t), in.ID))(t), []store.StackBinding{}, "bindings after the stack is deleted")
	mustNil(t, s.DeleteSpace(ctx(t), sp.ID))
}

// testBindingConditions: a create never replaces a binding, and a replace or delete
// acts only on the version it names.
func testBindingConditions(t *testing.T, s store.Store) {
	st := newStack(t, s, "network", store.RootSpaceID)
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("cloud", store.RootSpaceID)))(t)
	wantNotFound(t, func() error {
		_, _, err := s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "infra"), store.BindingAnyVersion)
		return err
	}(), "replace of a stack without a binding")
	first := must3(s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "infra"), store.BindingCreateOnly))(t)

	_, _, err := s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "other"), store.BindingCreateOnly)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != "stack_id" {
		t.Fatalf("second create: %v, want ConflictError{stack_id}", err)
	}
	_, _, err = s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "other"), "not-"+first.Version)
	if !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("replace with another version: %v, want ErrVersionMismatch", err)
	}
	equal(t, must(s.GetStackBinding(ctx(t), st.ID))(t), first, "the binding after refused writes")

	// A binding deleted and made again is another binding: the old version names
	// neither.
	mustNil(t, s.DeleteStackBinding(ctx(t), st.ID, first.Version))
	second := must3(s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "infra"), store.BindingCreateOnly))(t)
	if second.Version == first.Version {
		t.Fatal("a re-created binding has the version of the deleted one")
	}
	if err := s.DeleteStackBinding(ctx(t), st.ID, first.Version); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("delete with the deleted binding's version: %v, want ErrVersionMismatch", err)
	}
	replaced := must3(s.SetStackBinding(ctx(t), binding(st.ID, in.ID, "acme", "app"), store.BindingAnyVersion))(t)
	if replaced.Repository != "app" || replaced.Version == second.Version {
		t.Fatalf("replace whatever the version = %+v", replaced)
	}
}

// must3 is must for SetStackBinding's three results.
func must3(b store.StackBinding, _ bool, err error) func(t *testing.T) store.StackBinding {
	return must(b, err)
}

func sortedIDs(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
