// Package storetest is the conformance suite every store.Store implementation
// must pass. An implementation's test calls Run with a function that opens a
// fresh, empty, migrated store for each subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Run runs the whole suite. open must return a new, independent store each time
// and register its Close with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RootSpaceExists", testRootSpaceExists},
		{"SpaceCRUD", testSpaceCRUD},
		{"SpaceMissingReferences", testSpaceMissingReferences},
		{"SpaceDeleteBlockedByDependants", testSpaceDeleteBlocked},
		{"RootSpaceImmutable", testRootImmutable},
		{"SpaceCycleRefused", testSpaceCycle},
		{"SpaceAncestry", testSpaceAncestry},
		{"ListReadableBy", testReadableBy},
		{"SpaceQuotas", testSpaceQuotas},
		{"SpaceQuotaConcurrent", testSpaceQuotaConcurrent},
		{"APIKeyCRUD", testAPIKeyCRUD},
		{"APIKeyBadRoles", testAPIKeyBadRoles},
		{"FirstAPIKeyOnce", testFirstAPIKeyOnce},
		{"FirstAPIKeyConcurrent", testFirstAPIKeyConcurrent},
		{"StackCRUD", testStackCRUD},
		{"IntegrationCRUD", testIntegrationCRUD},
		{"IntegrationKindIsData", testIntegrationKindIsData},
		{"IntegrationCredentialKeptWhenNil", testIntegrationCredentialKept},
		{"IntegrationNameUniquePerProvider", testIntegrationNameUnique},
		{"IntegrationOneDefaultPerProvider", testIntegrationOneDefault},
		{"IntegrationRecreateAfterDelete", testIntegrationRecreate},
		{"IntegrationWebhookSecret", testIntegrationWebhookSecret},
		{"BindingCRUD", testBindingCRUD},
		{"BindingMissingReferences", testBindingMissingReferences},
		{"BindingDetachAndReattach", testBindingDetachAndReattach},
		{"BindingsForRepository", testBindingsForRepository},
		{"BindingGoesWithStack", testBindingGoesWithStack},
		{"BindingConditions", testBindingConditions},
		{"NotFound", testNotFound},
		{"PresetIDs", testPresetIDs},
		{"ListFilters", testListFilters},
		{"Paging", testPaging},
		{"NamesInByteOrder", testByteOrder},
		{"FailedCallChangesNothing", testFailedCallChangesNothing},
		{"ConcurrentWrites", testConcurrentWrites},
		{"IdempotentCreateCommitsWithRecord", testIdempotentCommits},
		{"IdempotentFailedWriteKeepsNothing", testIdempotentFailedWrite},
		{"IdempotentConcurrentSameKey", testIdempotentConcurrent},
	}
	tests = append(tests, queueTests...)
	tests = append(tests, retentionTests...)
	tests = append(tests, keyTests...)
	tests = append(tests, poolTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// ---- helpers ----

func ctx(t *testing.T) context.Context { return t.Context() }

// must returns v, failing the test on err: must(s.GetSpace(ctx, id))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: got error %v, want ErrNotFound", what, err)
	}
}

// wantConflict checks err is a *store.ConflictError on field (and wraps ErrConflict).
func wantConflict(t *testing.T, err error, field, what string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("%s: got error %v, want *ConflictError", what, err)
	}
	if ce.Field != field {
		t.Fatalf("%s: conflict on field %q, want %q (%v)", what, ce.Field, field, err)
	}
}

// sameTime normalises times so values read back compare equal to values
// returned by a create whatever their internal representation.
func sameTime(a time.Time) time.Time { return time.Unix(0, a.UnixNano()).UTC() }

func equal[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(canon(got), canon(want)) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func canon(v any) any {
	switch x := v.(type) {
	case store.Space:
		x.CreatedAt, x.UpdatedAt = sameTime(x.CreatedAt), sameTime(x.UpdatedAt)
		return x
	case store.Stack:
		x.CreatedAt, x.UpdatedAt = sameTime(x.CreatedAt), sameTime(x.UpdatedAt)
		return x
	case store.Integration:
		x.CreatedAt, x.UpdatedAt = sameTime(x.CreatedAt), sameTime(x.UpdatedAt)
		return x
	case store.StackBinding:
		x.CreatedAt, x.UpdatedAt = sameTime(x.CreatedAt), sameTime(x.UpdatedAt)
		return x
	case []store.StackBinding:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canon(x[i])
		}
		return out
	case store.APIKey:
		x.CreatedAt = sameTime(x.CreatedAt)
		return x
	case []store.Space:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canon(x[i])
		}
		return out
	case []store.Stack:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canon(x[i])
		}
		return out
	case []store.Integration:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canon(x[i])
		}
		return out
	case []store.APIKey:
		out := make([]any, len(x))
		for i := range x {
			out[i] = canon(x[i])
		}
		return out
	}
	return v
}

func checkTimestamps(t *testing.T, created, updated time.Time, what string) {
	t.Helper()
	if created.IsZero() || updated.IsZero() {
		t.Fatalf("%s: timestamps not set: created %v updated %v", what, created, updated)
	}
	if created.Location() != time.UTC && created.Location().String() != "UTC" {
		t.Fatalf("%s: created_at not in UTC: %v", what, created)
	}
	if updated.Before(created) {
		t.Fatalf("%s: updated_at %v before created_at %v", what, updated, created)
	}
}

func cloudIntegration(name, spaceID string) store.Integration {
	return store.Integration{
		Provider:            store.ProviderBitbucketCloud,
		Name:                name,
		SpaceID:             spaceID,
		Description:         "cloud " + name,
		Labels:              []string{"team:platform", "env/prod"},
		VCSChecks:           "individual",
		Email:               "dev@example.com",
		AuthMethod:          "api_token",
		SealedCredential:    []byte("sealed-credential-" + name),
		SealedWebhookSecret: []byte("sealed-secret-" + name),
	}
}

func dcIntegration(name, spaceID string) store.Integration {
	return store.Integration{
		Provider:            store.ProviderBitbucketDataCenter,
		Name:                name,
		SpaceID:             spaceID,
		Description:         "dc " + name,
		Labels:              []string{"dc"},
		VCSChecks:           "aggregated",
		Username:            "svc-orbit",
		APIHost:             "https://bitbucket.example.com",
		UserFacingHost:      "https://bitbucket.example.com",
		UseGitCheckout:      true,
		SealedCredential:    []byte{0, 1, 2, 0xfe, 0xff},
		SealedWebhookSecret: []byte{9, 8, 7},
	}
}

func newSpace(t *testing.T, s store.Store, name, parent string) store.Space {
	t.Helper()
	return must(s.CreateSpace(ctx(t), store.Space{Name: name, ParentSpaceID: parent}))(t)
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func stackID(s store.Stack) string             { return s.ID }
func spaceID(s store.Space) string             { return s.ID }
func integrationID(i store.Integration) string { return i.ID }

// ---- spaces ----

func testRootSpaceExists(t *testing.T, s store.Store) {
	mustNil(t, s.Ping(ctx(t)))
	root := must(s.GetSpace(ctx(t), store.RootSpaceID))(t)
	if root.ID != store.RootSpaceID || root.Name != "root" || root.ParentSpaceID != "" || root.InheritEntities {
		t.Fatalf("root space = %+v", root)
	}
	if root.Labels == nil || len(root.Labels) != 0 {
		t.Fatalf("root labels = %#v, want empty non-nil", root.Labels)
	}
	checkTimestamps(t, root.CreatedAt, root.UpdatedAt, "root")
	all := must(s.AllSpaces(ctx(t)))(t)
	if len(all) != 1 || all[0].ID != store.RootSpaceID {
		t.Fatalf("AllSpaces on a new store = %+v, want only root", all)
	}
}

func testSpaceCRUD(t *testing.T, s store.Store) {
	created := must(s.CreateSpace(ctx(t), store.Space{
		Name: "Platform Team", ParentSpaceID: store.RootSpaceID, InheritEntities: true,
		Description: "the platform", Labels: []string{"b", "a", "b", "c"},
	}))(t)
	if created.ID == "" || created.ID == store.RootSpaceID {
		t.Fatalf("created id = %q", created.ID)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(created.Labels, want) {
		t.Fatalf("labels = %v, want %v (sorted, unique)", created.Labels, want)
	}
	checkTimestamps(t, created.CreatedAt, created.UpdatedAt, "create")
	if !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("a new space has created_at %v != updated_at %v", created.CreatedAt, created.UpdatedAt)
	}
	equal(t, must(s.GetSpace(ctx(t), created.ID))(t), created, "get after create")

	// Empty parent means root.
	child := must(s.CreateSpace(ctx(t), store.Space{Name: "child"}))(t)
	if child.ParentSpaceID != store.RootSpaceID {
		t.Fatalf("default parent = %q, want root", child.ParentSpaceID)
	}
	if child.Labels == nil {
		t.Fatalf("labels of a space created without labels are nil, want empty")
	}

	updated := must(s.UpdateSpace(ctx(t), store.Space{
		ID: child.ID, Name: "renamed", ParentSpaceID: created.ID, InheritEntities: true,
		Description: "moved", Labels: []string{"z", "y"},
	}))(t)
	want := child
	want.Name, want.ParentSpaceID, want.InheritEntities, want.Description, want.Labels = "renamed", created.ID, true, "moved", []string{"y", "z"}
	want.UpdatedAt = updated.UpdatedAt
	equal(t, updated, want, "update result")
	if !updated.CreatedAt.Equal(child.CreatedAt) || updated.UpdatedAt.Before(child.UpdatedAt) {
		t.Fatalf("update timestamps: created %v (was %v) updated %v (was %v)", updated.CreatedAt, child.CreatedAt, updated.UpdatedAt, child.UpdatedAt)
	}
	equal(t, must(s.GetSpace(ctx(t), child.ID))(t), updated, "get after update")

	// Update replaces: labels and description can be emptied.
	cleared := must(s.UpdateSpace(ctx(t), store.Space{ID: child.ID, Name: "renamed", ParentSpaceID: store.RootSpaceID}))(t)
	if len(cleared.Labels) != 0 || cleared.Description != "" || cleared.InheritEntities || cleared.ParentSpaceID != store.RootSpaceID {
		t.Fatalf("update did not replace every field: %+v", cleared)
	}

	all := must(s.AllSpaces(ctx(t)))(t)
	if got := ids(all, spaceID); len(got) != 3 {
		t.Fatalf("AllSpaces ids = %v, want 3", got)
	}

	mustNil(t, s.DeleteSpace(ctx(t), child.ID))
	_, err := s.GetSpace(ctx(t), child.ID)
	wantNotFound(t, err, "get deleted space")
	wantNotFound(t, s.DeleteSpace(ctx(t), child.ID), "delete deleted space")
}

func testSpaceMissingReferences(t *testing.T, s store.Store) {
	_, err := s.CreateSpace(ctx(t), store.Space{Name: "orphan", ParentSpaceID: "no-such-space"})
	wantNotFound(t, err, "create under a missing parent")
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "space" || nf.ID != "no-such-space" {
		t.Fatalf("error %v does not name the missing space", err)
	}
	if all := must(s.AllSpaces(ctx(t)))(t); len(all) != 1 {
		t.Fatalf("a failed create left %d spaces", len(all))
	}
	sp := newSpace(t, s, "a", "")
	_, err = s.UpdateSpace(ctx(t), store.Space{ID: sp.ID, Name: "a", ParentSpaceID: "no-such-space"})
	wantNotFound(t, err, "move under a missing parent")
	equal(t, must(s.GetSpace(ctx(t), sp.ID))(t), sp, "space after failed move")
}

func testSpaceDeleteBlocked(t *testing.T, s store.Store) {
	for _, dependant := range []string{"child space", "stack", "integration"} {
		t.Run(dependant, func(t *testing.T) {
			sp := newSpace(t, s, "parent of "+dependant, "")
			var remove func() error
			switch dependant {
			case "child space":
				c := newSpace(t, s, "child", sp.ID)
				remove = func() error { return s.DeleteSpace(ctx(t), c.ID) }
			case "stack":
				st := must(s.CreateStack(ctx(t), store.Stack{Name: "st", SpaceID: sp.ID}))(t)
				remove = func() error { return s.DeleteStack(ctx(t), st.ID) }
			case "integration":
				in := must(s.CreateIntegration(ctx(t), cloudIntegration("blocker", sp.ID)))(t)
				remove = func() error { return s.DeleteIntegration(ctx(t), in.ID) }
			}
			err := s.DeleteSpace(ctx(t), sp.ID)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("delete of a space with a %s: %v, want conflict", dependant, err)
			}
			var ce *store.ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConflictError", err)
			}
			must(s.GetSpace(ctx(t), sp.ID))(t)
			mustNil(t, remove())
			mustNil(t, s.DeleteSpace(ctx(t), sp.ID))
		})
	}
}

func testRootImmutable(t *testing.T, s store.Store) {
	_, err := s.UpdateSpace(ctx(t), store.Space{ID: store.RootSpaceID, Name: "renamed"})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update of root: %v, want conflict", err)
	}
	if !errors.Is(s.DeleteSpace(ctx(t), store.RootSpaceID), store.ErrConflict) {
		t.Fatalf("delete of root is not a conflict")
	}
	if root := must(s.GetSpace(ctx(t), store.RootSpaceID))(t); root.Name != "root" {
		t.Fatalf("root renamed to %q", root.Name)
	}
}

func testSpaceCycle(t *testing.T, s store.Store) {
	a := newSpace(t, s, "a", "")
	b := newSpace(t, s, "b", a.ID)
	c := newSpace(t, s, "c", b.ID)
	for _, parent := range []string{a.ID, b.ID, c.ID} {
		_, err := s.UpdateSpace(ctx(t), store.Space{ID: a.ID, Name: "a", ParentSpaceID: parent})
		wantConflict(t, err, "parent_space_id", "move a under "+parent)
	}
	equal(t, must(s.GetSpace(ctx(t), a.ID))(t), a, "a after refused moves")
	// A legal move still works: c up to root.
	moved := must(s.UpdateSpace(ctx(t), store.Space{ID: c.ID, Name: "c", ParentSpaceID: store.RootSpaceID}))(t)
	if moved.ParentSpaceID != store.RootSpaceID {
		t.Fatalf("move c to root: parent %q", moved.ParentSpaceID)
	}
}

// ---- API keys ----

func testAPIKeyCRUD(t *testing.T, s store.Store) {
	if n := must(s.CountAPIKeys(ctx(t)))(t); n != 0 {
		t.Fatalf("a new store counts %d API keys", n)
	}
	sp := newSpace(t, s, "team", "")
	hash := []byte{0xde, 0xad, 0xbe, 0xef, 0, 1}
	k := must(s.CreateAPIKey(ctx(t), store.APIKey{
		Name: "ci", SecretHash: hash,
		Roles: []store.RoleBinding{{SpaceID: sp.ID, Role: store.RoleWrite}, {SpaceID: store.RootSpaceID, Role: store.RoleRead}},
	}))(t)
	if k.ID == "" || k.CreatedAt.IsZero() {
		t.Fatalf("created key = %+v", k)
	}
	wantRoles := []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleRead}, {SpaceID: sp.ID, Role: store.RoleWrite}}
	sort.Slice(wantRoles, func(i, j int) bool { return wantRoles[i].SpaceID < wantRoles[j].SpaceID })
	if !reflect.DeepEqual(k.Roles, wantRoles) {
		t.Fatalf("roles = %v, want %v (ordered by space id)", k.Roles, wantRoles)
	}
	got := must(s.GetAPIKey(ctx(t), k.ID))(t)
	equal(t, got, k, "get key")
	if !slices.Equal(got.SecretHash, hash) {
		t.Fatalf("secret hash = %x, want %x", got.SecretHash, hash)
	}
	k2 := must(s.CreateAPIKey(ctx(t), store.APIKey{Name: "admin", SecretHash: []byte{1}, Roles: []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleAdmin}}}))(t)
	if n := must(s.CountAPIKeys(ctx(t)))(t); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	list := must(s.ListAPIKeys(ctx(t)))(t)
	equal(t, list, []store.APIKey{k2, k}, "list keys (by name)")

	// Deleting a space drops the grants on it, not the key.
	mustNil(t, s.DeleteSpace(ctx(t), sp.ID))
	got = must(s.GetAPIKey(ctx(t), k.ID))(t)
	if !reflect.DeepEqual(got.Roles, []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleRead}}) {
		t.Fatalf("roles after deleting the space = %v", got.Roles)
	}

	mustNil(t, s.DeleteAPIKey(ctx(t), k.ID))
	_, err := s.GetAPIKey(ctx(t), k.ID)
	wantNotFound(t, err, "get deleted key")
	wantNotFound(t, s.DeleteAPIKey(ctx(t), k.ID), "delete deleted key")
	if n := must(s.CountAPIKeys(ctx(t)))(t); n != 1 {
		t.Fatalf("count after delete = %d, want 1", n)
	}
}

func testAPIKeyBadRoles(t *testing.T, s store.Store) {
	_, err := s.CreateAPIKey(ctx(t), store.APIKey{Name: "x", SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleRead}, {SpaceID: "missing", Role: store.RoleAdmin}}})
	wantNotFound(t, err, "key with a role on a missing space")
	_, err = s.CreateAPIKey(ctx(t), store.APIKey{Name: "x", SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleRead}, {SpaceID: store.RootSpaceID, Role: store.RoleAdmin}}})
	wantConflict(t, err, "roles[1].space_id", "two roles on one space")
	if n := must(s.CountAPIKeys(ctx(t)))(t); n != 0 {
		t.Fatalf("failed creates left %d keys", n)
	}
}

func firstKey(id string) store.APIKey {
	return store.APIKey{ID: id, Name: "bootstrap-admin", SecretHash: []byte(id),
		Roles: []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleAdmin}}}
}

func testFirstAPIKeyOnce(t *testing.T, s store.Store) {
	_, err := s.CreateFirstAPIKey(ctx(t), store.APIKey{ID: "k_bad", Name: "x", SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: "missing", Role: store.RoleAdmin}}})
	wantNotFound(t, err, "first key with a role on a missing space")
	if !must(s.CreateFirstAPIKey(ctx(t), firstKey("k_first")))(t) {
		t.Fatal("the first key on an empty store was not created")
	}
	k := must(s.GetAPIKey(ctx(t), "k_first"))(t)
	if k.CreatedAt.IsZero() || !reflect.DeepEqual(k.Roles, firstKey("k_first").Roles) {
		t.Fatalf("first key = %+v", k)
	}
	if must(s.CreateFirstAPIKey(ctx(t), firstKey("k_second")))(t) {
		t.Fatal("a first key was created on a store that has one")
	}
	_, err = s.GetAPIKey(ctx(t), "k_second")
	wantNotFound(t, err, "the key refused as not first")
	// Any key counts, not only an earlier first one.
	mustNil(t, s.DeleteAPIKey(ctx(t), "k_first"))
	newKey(t, s, "k_other")
	if must(s.CreateFirstAPIKey(ctx(t), firstKey("k_third")))(t) {
		t.Fatal("a first key was created beside another key")
	}
	if n := must(s.CountAPIKeys(ctx(t)))(t); n != 1 {
		t.Fatalf("count = %d, want 1", n)
	}
}

// Servers starting together on one empty database each try to install their
// own first key: one succeeds, whichever, and the store holds that key alone.
func testFirstAPIKeyConcurrent(t *testing.T, s store.Store) {
	const servers = 8
	var wg sync.WaitGroup
	created := make([]bool, servers)
	errs := make([]error, servers)
	start := make(chan struct{})
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			created[i], errs[i] = s.CreateFirstAPIKey(ctx(t), firstKey(fmt.Sprintf("k_replica%d", i)))
		}()
	}
	close(start)
	wg.Wait()
	var winners []string
	for i := range servers {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if created[i] {
			winners = append(winners, fmt.Sprintf("k_replica%d", i))
		}
	}
	keys := must(s.ListAPIKeys(ctx(t)))(t)
	if len(winners) != 1 || len(keys) != 1 || keys[0].ID != winners[0] {
		t.Fatalf("%d replicas created a first key (%v); the store holds %d keys", len(winners), winners, len(keys))
	}
}

// ---- stacks ----

func testStackCRUD(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "network", SpaceID: sp.ID, Description: "vpc", Labels: []string{"x", "a", "x"}}))(t)
	if st.ID == "" || !slices.Equal(st.Labels, []string{"a", "x"}) {
		t.Fatalf("created stack = %+v", st)
	}
	checkTimestamps(t, st.CreatedAt, st.UpdatedAt, "stack create")
	equal(t, must(s.GetStack(ctx(t), st.ID))(t), st, "get stack")

	up := must(s.UpdateStack(ctx(t), store.Stack{ID: st.ID, Name: "net", SpaceID: store.RootSpaceID}))(t)
	want := st
	want.Name, want.SpaceID, want.Description, want.Labels, want.UpdatedAt = "net", store.RootSpaceID, "", []string{}, up.UpdatedAt
	equal(t, up, want, "update stack")
	if !up.CreatedAt.Equal(st.CreatedAt) || up.UpdatedAt.Before(st.UpdatedAt) {
		t.Fatalf("update timestamps %v/%v vs %v/%v", up.CreatedAt, up.UpdatedAt, st.CreatedAt, st.UpdatedAt)
	}
	equal(t, must(s.GetStack(ctx(t), st.ID))(t), up, "get after update")

	_, err := s.CreateStack(ctx(t), store.Stack{Name: "orphan", SpaceID: "missing"})
	wantNotFound(t, err, "stack in a missing space")
	_, err = s.UpdateStack(ctx(t), store.Stack{ID: st.ID, Name: "net", SpaceID: "missing"})
	wantNotFound(t, err, "move stack to a missing space")
	equal(t, must(s.GetStack(ctx(t), st.ID))(t), up, "stack after failed move")

	mustNil(t, s.DeleteStack(ctx(t), st.ID))
	_, err = s.GetStack(ctx(t), st.ID)
	wantNotFound(t, err, "get deleted stack")
	if items, _, err := s.ListStacks(ctx(t), store.ListFilter{}); err != nil || len(items) != 0 {
		t.Fatalf("stacks after delete: %+v, %v", items, err)
	}
}

// ---- integrations ----
