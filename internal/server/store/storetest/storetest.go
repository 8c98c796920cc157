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
	tests = append(tests, keyTests...)
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
	checks["DeleteStackBinding"] = s.DeleteStackBinding(ctx(t), missing)
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

func testListFilters(t *testing.T, s store.Store) {
	a := newSpace(t, s, "a", "")
	b := newSpace(t, s, "b", "")
	mk := func(name, space string, labels ...string) store.Stack {
		return must(s.CreateStack(ctx(t), store.Stack{Name: name, SpaceID: space, Labels: labels}))(t)
	}
	s1 := mk("one", a.ID, "env:prod", "team:x")
	s2 := mk("two", a.ID, "env:prod")
	s3 := mk("three", b.ID, "team:x", "env:prod", "extra")
	s4 := mk("one", b.ID)
	s5 := mk("root-stack", store.RootSpaceID, "env:dev", "team:x")

	mkInt := func(in store.Integration, labels ...string) store.Integration {
		in.Labels = labels
		return must(s.CreateIntegration(ctx(t), in))(t)
	}
	i1 := mkInt(cloudIntegration("c1", a.ID), "env:prod")
	i2 := mkInt(dcIntegration("d1", a.ID), "env:prod", "team:x")
	i3 := mkInt(cloudIntegration("c2", b.ID), "team:x")
	i4 := mkInt(dcIntegration("c1", b.ID)) // same name as i1, other provider

	byNameID := func(items ...store.Stack) []string {
		slices.SortFunc(items, func(x, y store.Stack) int {
			if x.Name != y.Name {
				return cmpString(x.Name, y.Name)
			}
			return cmpString(x.ID, y.ID)
		})
		return ids(items, stackID)
	}
	stackCases := []struct {
		name   string
		filter store.ListFilter
		want   []string
	}{
		{"all", store.ListFilter{}, byNameID(s1, s2, s3, s4, s5)},
		{"one space", store.ListFilter{SpaceIDs: []string{a.ID}}, byNameID(s1, s2)},
		{"two spaces", store.ListFilter{SpaceIDs: []string{b.ID, store.RootSpaceID}}, byNameID(s3, s4, s5)},
		{"no spaces matches nothing", store.ListFilter{SpaceIDs: []string{}}, []string{}},
		{"unknown space", store.ListFilter{SpaceIDs: []string{"nope"}}, []string{}},
		{"one label", store.ListFilter{Labels: []string{"team:x"}}, byNameID(s1, s3, s5)},
		{"labels AND", store.ListFilter{Labels: []string{"team:x", "env:prod"}}, byNameID(s1, s3)},
		{"labels AND, duplicates ignored", store.ListFilter{Labels: []string{"env:prod", "team:x", "env:prod"}}, byNameID(s1, s3)},
		{"three labels", store.ListFilter{Labels: []string{"team:x", "env:prod", "extra"}}, byNameID(s3)},
		{"unknown label", store.ListFilter{Labels: []string{"env:prod", "nope"}}, []string{}},
		{"name", store.ListFilter{Name: "one"}, byNameID(s1, s4)},
		{"name and space", store.ListFilter{Name: "one", SpaceIDs: []string{b.ID}}, byNameID(s4)},
		{"name, space and label", store.ListFilter{Name: "one", SpaceIDs: []string{a.ID, b.ID}, Labels: []string{"team:x"}}, byNameID(s1)},
	}
	for _, tc := range stackCases {
		items, next, err := s.ListStacks(ctx(t), tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if next != "" {
			t.Fatalf("%s: next page token %q on a short list", tc.name, next)
		}
		if got := ids(items, stackID); !slices.Equal(got, tc.want) {
			t.Errorf("stacks %s: got %v, want %v", tc.name, got, tc.want)
		}
		if items == nil {
			t.Errorf("stacks %s: nil slice, want empty", tc.name)
		}
	}
	// A listed stack carries its labels.
	items := must(listStacks(s, t, store.ListFilter{Name: "three"}))(t)
	if len(items) != 1 || !slices.Equal(items[0].Labels, []string{"env:prod", "extra", "team:x"}) {
		t.Fatalf("listed labels = %+v", items)
	}

	intCases := []struct {
		name   string
		filter store.ListFilter
		want   []store.Integration
	}{
		{"all", store.ListFilter{}, sortIntegrations(i1, i2, i3, i4)},
		{"provider cloud", store.ListFilter{Provider: store.ProviderBitbucketCloud}, sortIntegrations(i1, i3)},
		{"provider dc", store.ListFilter{Provider: store.ProviderBitbucketDataCenter}, sortIntegrations(i2, i4)},
		{"name across providers", store.ListFilter{Name: "c1"}, sortIntegrations(i1, i4)},
		{"name and provider", store.ListFilter{Name: "c1", Provider: store.ProviderBitbucketDataCenter}, []store.Integration{i4}},
		{"space", store.ListFilter{SpaceIDs: []string{a.ID}}, sortIntegrations(i1, i2)},
		{"label", store.ListFilter{Labels: []string{"team:x"}}, sortIntegrations(i2, i3)},
		{"labels AND", store.ListFilter{Labels: []string{"team:x", "env:prod"}}, []store.Integration{i2}},
		{"space and provider", store.ListFilter{SpaceIDs: []string{b.ID}, Provider: store.ProviderBitbucketCloud}, []store.Integration{i3}},
		{"no spaces", store.ListFilter{SpaceIDs: []string{}}, []store.Integration{}},
	}
	for _, tc := range intCases {
		items, next, err := s.ListIntegrations(ctx(t), tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if next != "" {
			t.Fatalf("%s: next page token on a short list", tc.name)
		}
		// Whole objects: a list returns the same values as a get.
		equal(t, items, tc.want, "integrations "+tc.name)
	}

	spaceCases := []struct {
		name   string
		filter store.ListFilter
		want   []string
	}{
		{"all", store.ListFilter{}, []string{a.ID, b.ID, store.RootSpaceID}},
		{"by id", store.ListFilter{SpaceIDs: []string{b.ID, store.RootSpaceID}}, []string{b.ID, store.RootSpaceID}},
		{"name", store.ListFilter{Name: "a"}, []string{a.ID}},
		{"none", store.ListFilter{SpaceIDs: []string{}}, []string{}},
	}
	must(s.UpdateSpace(ctx(t), store.Space{ID: b.ID, Name: "b", Labels: []string{"l1", "l2"}}))(t)
	spaceCases = append(spaceCases, struct {
		name   string
		filter store.ListFilter
		want   []string
	}{"labels", store.ListFilter{Labels: []string{"l2", "l1"}}, []string{b.ID}})
	for _, tc := range spaceCases {
		items, _, err := s.ListSpaces(ctx(t), tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := ids(items, spaceID); !slices.Equal(got, tc.want) {
			t.Errorf("spaces %s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func listStacks(s store.Store, t *testing.T, f store.ListFilter) ([]store.Stack, error) {
	items, _, err := s.ListStacks(ctx(t), f)
	return items, err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortIntegrations(items ...store.Integration) []store.Integration {
	slices.SortFunc(items, func(x, y store.Integration) int {
		if x.Name != y.Name {
			return cmpString(x.Name, y.Name)
		}
		return cmpString(x.ID, y.ID)
	})
	return items
}

func testPaging(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "paged", "")
	const total = 250
	var want []string
	for i := range total {
		// Names repeat so the id must break ties; labels on every third.
		var labels []string
		if i%3 == 0 {
			labels = []string{"third"}
		}
		st := must(s.CreateStack(ctx(t), store.Stack{Name: fmt.Sprintf("stack-%02d", i%40), SpaceID: sp.ID, Labels: labels}))(t)
		want = append(want, st.ID)
	}
	all := must(listAll(t, s, store.ListFilter{PageSize: 1000}))(t)
	if len(all) != total {
		t.Fatalf("one big page: %d items, want %d", len(all), total)
	}
	for i := 1; i < len(all); i++ {
		p, c := all[i-1], all[i]
		if p.Name > c.Name || (p.Name == c.Name && p.ID >= c.ID) {
			t.Fatalf("not ordered by (name, id) at %d: %s/%s then %s/%s", i, p.Name, p.ID, c.Name, c.ID)
		}
	}
	if got := slices.Sorted(slices.Values(ids(all, stackID))); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("listed ids differ from created ids")
	}

	for _, size := range []int{0, 1, 7, 100, 249, 250, 251} {
		t.Run(fmt.Sprintf("page size %d", size), func(t *testing.T) {
			var walked []store.Stack
			token := ""
			pages := 0
			effective := size
			if effective == 0 {
				effective = 100
			}
			for {
				items, next, err := s.ListStacks(ctx(t), store.ListFilter{SpaceIDs: []string{sp.ID}, PageSize: size, PageToken: token})
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				if len(items) > effective {
					t.Fatalf("page %d has %d items, page size %d", pages, len(items), effective)
				}
				if next != "" && len(items) != effective {
					t.Fatalf("page %d: short page (%d) with a next token", pages, len(items))
				}
				walked = append(walked, items...)
				if next == "" {
					break
				}
				if pages > total+1 {
					t.Fatalf("paging does not end")
				}
				token = next
			}
			wantPages := (total + effective - 1) / effective
			if pages != wantPages {
				t.Fatalf("%d pages, want %d", pages, wantPages)
			}
			equal(t, ids(walked, stackID), ids(all, stackID), "walked pages vs one page")
		})
	}

	// Paging composes with filters.
	var walked []string
	token := ""
	for {
		items, next, err := s.ListStacks(ctx(t), store.ListFilter{Labels: []string{"third"}, PageSize: 9, PageToken: token})
		mustNil(t, err)
		walked = append(walked, ids(items, stackID)...)
		if next == "" {
			break
		}
		token = next
	}
	if len(walked) != (total+2)/3 {
		t.Fatalf("filtered paging gave %d items, want %d", len(walked), (total+2)/3)
	}

	// A page resumes after the last item even if rows change in between.
	first, next, err := s.ListStacks(ctx(t), store.ListFilter{PageSize: 10})
	mustNil(t, err)
	mustNil(t, s.DeleteStack(ctx(t), first[9].ID))
	second, _, err := s.ListStacks(ctx(t), store.ListFilter{PageSize: 10, PageToken: next})
	mustNil(t, err)
	if len(second) != 10 || second[0].ID != all[10].ID {
		t.Fatalf("page after deleting the last seen item starts at %s, want %s", second[0].ID, all[10].ID)
	}

	for _, bad := range []string{"not a token", "AAAA", "%%%"} {
		_, _, err := s.ListStacks(ctx(t), store.ListFilter{PageToken: bad})
		if !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("page token %q: %v, want ErrBadPageToken", bad, err)
		}
	}

	// Integrations and spaces page the same way.
	for i := range 30 {
		must(s.CreateIntegration(ctx(t), cloudIntegration(fmt.Sprintf("int-%02d", i), sp.ID)))(t)
		newSpace(t, s, "sp", sp.ID)
	}
	var intIDs []string
	token = ""
	for {
		items, next, err := s.ListIntegrations(ctx(t), store.ListFilter{PageSize: 4, PageToken: token})
		mustNil(t, err)
		intIDs = append(intIDs, ids(items, integrationID)...)
		if next == "" {
			break
		}
		token = next
	}
	if len(intIDs) != 30 || len(slices.Compact(slices.Sorted(slices.Values(intIDs)))) != 30 {
		t.Fatalf("integration paging: %d ids", len(intIDs))
	}
	var spaceIDs []string
	token = ""
	for {
		items, next, err := s.ListSpaces(ctx(t), store.ListFilter{PageSize: 4, PageToken: token})
		mustNil(t, err)
		spaceIDs = append(spaceIDs, ids(items, spaceID)...)
		if next == "" {
			break
		}
		token = next
	}
	if len(spaceIDs) != 32 || len(slices.Compact(slices.Sorted(slices.Values(spaceIDs)))) != 32 {
		t.Fatalf("space paging: %d ids, want 32", len(spaceIDs))
	}
}

func listAll(t *testing.T, s store.Store, f store.ListFilter) ([]store.Stack, error) {
	items, next, err := s.ListStacks(ctx(t), f)
	if err == nil && next != "" {
		t.Fatalf("unexpected next page")
	}
	return items, err
}

// ---- atomicity and concurrency ----

func testFailedCallChangesNothing(t *testing.T, s store.Store) {
	orig := must(s.CreateIntegration(ctx(t), cloudIntegration("taken", store.RootSpaceID)))(t)
	clash := cloudIntegration("taken", store.RootSpaceID)
	clash.Labels = []string{"only-on-the-clash"}
	_, err := s.CreateIntegration(ctx(t), clash)
	wantConflict(t, err, "name", "name clash")
	items, _, err := s.ListIntegrations(ctx(t), store.ListFilter{})
	mustNil(t, err)
	equal(t, items, []store.Integration{orig}, "integrations after a failed create")
	items, _, err = s.ListIntegrations(ctx(t), store.ListFilter{Labels: []string{"only-on-the-clash"}})
	mustNil(t, err)
	if len(items) != 0 {
		t.Fatalf("a failed create left labels behind: %+v", items)
	}

	// A failed update leaves every field, labels and credential included.
	def := dcIntegration("def", "")
	def.IsDefault = true
	must(s.CreateIntegration(ctx(t), def))(t)
	other := must(s.CreateIntegration(ctx(t), dcIntegration("other", store.RootSpaceID)))(t)
	change := other
	change.IsDefault, change.Description, change.Labels, change.SealedCredential = true, "changed", []string{"new"}, []byte("new")
	_, err = s.UpdateIntegration(ctx(t), change)
	wantConflict(t, err, "is_default", "second default")
	equal(t, must(s.GetIntegration(ctx(t), other.ID))(t), other, "after a failed update")

	// A failed space delete keeps the space, and a failed key create keeps no key.
	sp := newSpace(t, s, "busy", "")
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "s", SpaceID: sp.ID, Labels: []string{"x"}}))(t)
	if err := s.DeleteSpace(ctx(t), sp.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete busy space: %v", err)
	}
	equal(t, must(s.GetStack(ctx(t), st.ID))(t), st, "stack after failed space delete")
	equal(t, must(s.GetSpace(ctx(t), sp.ID))(t), sp, "space after failed delete")
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	const workers, each = 8, 12
	sp := newSpace(t, s, "busy", "")
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.CreateStack(ctx(t), store.Stack{Name: name, SpaceID: sp.ID, Labels: []string{"l", name}}); err != nil {
					errs <- fmt.Errorf("create stack %s: %w", name, err)
				}
				if _, err := s.CreateIntegration(ctx(t), cloudIntegration(name, sp.ID)); err != nil {
					errs <- fmt.Errorf("create integration %s: %w", name, err)
				}
				if _, _, err := s.ListStacks(ctx(t), store.ListFilter{Labels: []string{"l"}, PageSize: 5}); err != nil {
					errs <- fmt.Errorf("list while writing: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	items, _, err := s.ListStacks(ctx(t), store.ListFilter{PageSize: 1000})
	mustNil(t, err)
	if len(items) != workers*each {
		t.Fatalf("%d stacks after concurrent creates, want %d", len(items), workers*each)
	}
	ints, _, err := s.ListIntegrations(ctx(t), store.ListFilter{PageSize: 1000})
	mustNil(t, err)
	if len(ints) != workers*each {
		t.Fatalf("%d integrations after concurrent creates, want %d", len(ints), workers*each)
	}

	// Racing for one name and for the default slot: exactly one winner each,
	// every loser gets a clean conflict.
	for _, race := range []struct {
		field string
		make  func(i int) store.Integration
	}{
		{"name", func(int) store.Integration { return dcIntegration("contested", sp.ID) }},
		{"is_default", func(i int) store.Integration {
			in := dcIntegration(fmt.Sprintf("default-%d", i), "")
			in.IsDefault = true
			return in
		}},
	} {
		var (
			mu       sync.Mutex
			wins     int
			failures []error
			wg       sync.WaitGroup
		)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateIntegration(ctx(t), race.make(i))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else {
					failures = append(failures, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("race on %s: %d winners, want 1", race.field, wins)
		}
		for _, err := range failures {
			wantConflict(t, err, race.field, "race loser")
		}
	}
}

// ---- idempotency ----

func newKey(t *testing.T, s store.Store, id string) {
	t.Helper()
	must(s.CreateAPIKey(ctx(t), store.APIKey{ID: id, Name: id, SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleAdmin}}}))(t)
}

func testIdempotentCommits(t *testing.T, s store.Store) {
	newKey(t, s, "k_a")
	newKey(t, s, "k_b")
	rec := store.IdempotencyRecord{APIKeyID: "k_a", Key: "key-1", RequestHash: "h1"}
	runs := 0
	write := func(ctx context.Context) (store.IdempotencyRecord, error) {
		runs++
		sp, err := s.CreateSpace(ctx, store.Space{Name: "once", ParentSpaceID: store.RootSpaceID})
		if err != nil {
			return store.IdempotencyRecord{}, err
		}
		return store.IdempotencyRecord{Status: 201, SealedResponse: []byte("created " + sp.ID)}, nil
	}
	first, replayed, err := s.Idempotent(ctx(t), rec, write)
	mustNil(t, err)
	if replayed || first.Status != 201 || first.RequestHash != "h1" {
		t.Fatalf("first call: replayed=%v record=%+v", replayed, first)
	}
	second, replayed, err := s.Idempotent(ctx(t), store.IdempotencyRecord{APIKeyID: "k_a", Key: "key-1", RequestHash: "other"}, write)
	mustNil(t, err)
	if !replayed || string(second.SealedResponse) != string(first.SealedResponse) || second.RequestHash != "h1" {
		t.Fatalf("repeat: replayed=%v record=%+v, want the first record", replayed, second)
	}
	if runs != 1 {
		t.Fatalf("write ran %d times, want 1", runs)
	}
	got, err := s.GetIdempotencyRecord(ctx(t), "k_a", "key-1")
	mustNil(t, err)
	equal(t, string(got.SealedResponse), string(first.SealedResponse), "stored response")
	// The key is scoped to the API key that sent it.
	wantNotFound(t, errOnly(s.GetIdempotencyRecord(ctx(t), "k_b", "key-1")), "record of another API key")
	if _, replayed, err := s.Idempotent(ctx(t), store.IdempotencyRecord{APIKeyID: "k_b", Key: "key-1", RequestHash: "h1"}, write); err != nil || replayed {
		t.Fatalf("same key from another API key: replayed=%v err=%v, want a fresh write", replayed, err)
	}
	spaces, _, err := s.ListSpaces(ctx(t), store.ListFilter{Name: "once"})
	mustNil(t, err)
	if len(spaces) != 2 {
		t.Fatalf("%d spaces named once, want 2 (one per API key)", len(spaces))
	}
}

func errOnly[T any](_ T, err error) error { return err }

func testIdempotentFailedWrite(t *testing.T, s store.Store) {
	newKey(t, s, "k_a")
	rec := store.IdempotencyRecord{APIKeyID: "k_a", Key: "key-1", RequestHash: "h1"}
	boom := errors.New("boom")
	_, _, err := s.Idempotent(ctx(t), rec, func(ctx context.Context) (store.IdempotencyRecord, error) {
		if _, err := s.CreateSpace(ctx, store.Space{Name: "rolled-back", ParentSpaceID: store.RootSpaceID}); err != nil {
			return store.IdempotencyRecord{}, err
		}
		return store.IdempotencyRecord{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the write's error", err)
	}
	wantNotFound(t, errOnly(s.GetIdempotencyRecord(ctx(t), "k_a", "key-1")), "record of a failed write")
	spaces, _, err := s.ListSpaces(ctx(t), store.ListFilter{Name: "rolled-back"})
	mustNil(t, err)
	if len(spaces) != 0 {
		t.Fatalf("the space created inside a failed idempotent write survived: %+v", spaces)
	}
}

func testIdempotentConcurrent(t *testing.T, s store.Store) {
	newKey(t, s, "k_a")
	rec := store.IdempotencyRecord{APIKeyID: "k_a", Key: "same", RequestHash: "h"}
	const workers = 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Idempotent(ctx(t), rec, func(ctx context.Context) (store.IdempotencyRecord, error) {
				if _, err := s.CreateStack(ctx, store.Stack{Name: "racer", SpaceID: store.RootSpaceID}); err != nil {
					return store.IdempotencyRecord{}, err
				}
				return store.IdempotencyRecord{Status: 201, SealedResponse: []byte("x")}, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNil(t, err)
	}
	stacks, _, err := s.ListStacks(ctx(t), store.ListFilter{Name: "racer"})
	mustNil(t, err)
	if len(stacks) != 1 {
		t.Fatalf("%d stacks after %d concurrent creates with one idempotency key, want 1", len(stacks), workers)
	}
}

// testByteOrder: every list orders names byte by byte (what Go's < does), not
// by a locale's rules, whatever the database's default collation, and pages
// resume at the same place on every database.
func testByteOrder(t *testing.T, s store.Store) {
	names := []string{"b", "B", "a", "A", "_z", "\u00c4", "a b", "a-b", "Z"}
	want := slices.Sorted(slices.Values(names))
	parent := newSpace(t, s, "byte-order", "")
	for _, n := range names {
		must(s.CreateSpace(ctx(t), store.Space{Name: n, ParentSpaceID: parent.ID}))(t)
		must(s.CreateStack(ctx(t), store.Stack{Name: n, SpaceID: parent.ID}))(t)
		must(s.CreateIntegration(ctx(t), cloudIntegration(n, parent.ID)))(t)
	}
	walk := func(size int, list func(f store.ListFilter) ([]string, string, error)) []string {
		var got []string
		token := ""
		for range len(names) + 1 {
			page, next, err := list(store.ListFilter{PageSize: size, PageToken: token})
			mustNil(t, err)
			got = append(got, page...)
			if next == "" {
				return got
			}
			token = next
		}
		t.Fatalf("paging does not end")
		return nil
	}
	names2 := func(n int, name func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name(i)
		}
		return out
	}
	for _, size := range []int{100, 2} {
		stacks := walk(size, func(f store.ListFilter) ([]string, string, error) {
			f.SpaceIDs = []string{parent.ID}
			items, next, err := s.ListStacks(ctx(t), f)
			return names2(len(items), func(i int) string { return items[i].Name }), next, err
		})
		equal(t, stacks, want, fmt.Sprintf("stacks, page size %d", size))
		integrations := walk(size, func(f store.ListFilter) ([]string, string, error) {
			items, next, err := s.ListIntegrations(ctx(t), f)
			return names2(len(items), func(i int) string { return items[i].Name }), next, err
		})
		equal(t, integrations, want, fmt.Sprintf("integrations, page size %d", size))
		spaces := walk(size, func(f store.ListFilter) ([]string, string, error) {
			items, next, err := s.ListSpaces(ctx(t), f)
			var kept []string
			for _, sp := range items {
				if sp.ParentSpaceID == parent.ID {
					kept = append(kept, sp.Name)
				}
			}
			return kept, next, err
		})
		equal(t, spaces, want, fmt.Sprintf("spaces, page size %d", size))
	}
	all := must(s.AllSpaces(ctx(t)))(t)
	var allNames []string
	for _, sp := range all {
		if sp.ParentSpaceID == parent.ID {
			allNames = append(allNames, sp.Name)
		}
	}
	equal(t, allNames, want, "AllSpaces")
}
