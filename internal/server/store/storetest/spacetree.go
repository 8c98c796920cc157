package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

func testSpaceAncestry(t *testing.T, s store.Store) {
	a := newSpace(t, s, "a", store.RootSpaceID)
	b := must(s.CreateSpace(ctx(t), store.Space{Name: "b", ParentSpaceID: a.ID, InheritEntities: true, Labels: []string{"x"}}))(t)
	c := newSpace(t, s, "c", b.ID)
	chain := must(s.SpaceAncestry(ctx(t), c.ID))(t)
	equal(t, ids(chain, spaceID), []string{c.ID, b.ID, a.ID, store.RootSpaceID}, "ancestry of c")
	if !chain[1].InheritEntities || chain[1].ParentSpaceID != a.ID || chain[1].Name != "b" {
		t.Fatalf("ancestry entry for b = %+v", chain[1])
	}
	equal(t, ids(must(s.SpaceAncestry(ctx(t), store.RootSpaceID))(t), spaceID), []string{store.RootSpaceID}, "ancestry of root")
	_, err := s.SpaceAncestry(ctx(t), "missing")
	wantNotFound(t, err, "ancestry of a missing space")
	// A move is seen at once.
	c.ParentSpaceID = a.ID
	must(s.UpdateSpace(ctx(t), c))(t)
	equal(t, ids(must(s.SpaceAncestry(ctx(t), c.ID))(t), spaceID), []string{c.ID, a.ID, store.RootSpaceID}, "ancestry after move")
}

// ReadableBy: spaces the key holds a role on, and the descendants reached through
// inherit_entities, resolved by the store.
func testReadableBy(t *testing.T, s store.Store) {
	team := newSpace(t, s, "team", store.RootSpaceID)
	inherits := must(s.CreateSpace(ctx(t), store.Space{Name: "inherits", ParentSpaceID: team.ID, InheritEntities: true}))(t)
	deeper := must(s.CreateSpace(ctx(t), store.Space{Name: "deeper", ParentSpaceID: inherits.ID, InheritEntities: true}))(t)
	closed := newSpace(t, s, "closed", team.ID)
	closedChild := must(s.CreateSpace(ctx(t), store.Space{Name: "closed-child", ParentSpaceID: closed.ID, InheritEntities: true}))(t)
	other := newSpace(t, s, "other", store.RootSpaceID)
	key := must(s.CreateAPIKey(ctx(t), store.APIKey{Name: "k", SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: team.ID, Role: store.RoleRead}, {SpaceID: closedChild.ID, Role: store.RoleWrite}}}))(t)
	spaces, _ := must2(s.ListSpaces(ctx(t), store.ListFilter{ReadableBy: key.ID, PageSize: 100}))(t)
	got := ids(spaces, spaceID)
	want := []string{team.ID, inherits.ID, deeper.ID, closedChild.ID}
	slices.Sort(got)
	slices.Sort(want)
	equal(t, got, want, "readable spaces")
	for _, sp := range []store.Space{closed, other} {
		if slices.Contains(got, sp.ID) {
			t.Fatalf("%s listed as readable", sp.Name)
		}
	}
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "s1", SpaceID: deeper.ID}))(t)
	must(s.CreateStack(ctx(t), store.Stack{Name: "s2", SpaceID: closed.ID}))(t)
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("readable", inherits.ID)))(t)
	must(s.CreateIntegration(ctx(t), cloudIntegration("hidden", other.ID)))(t)
	stacks, _ := must2(s.ListStacks(ctx(t), store.ListFilter{ReadableBy: key.ID}))(t)
	equal(t, ids(stacks, stackID), []string{st.ID}, "readable stacks")
	integrations, _ := must2(s.ListIntegrations(ctx(t), store.ListFilter{ReadableBy: key.ID, Labels: []string{"env/prod"}}))(t)
	equal(t, ids(integrations, integrationID), []string{in.ID}, "readable integrations")
	equal(t, integrations[0].Labels, []string{"env/prod", "team:platform"}, "labels of a listed integration")
	none := must(s.CreateAPIKey(ctx(t), store.APIKey{Name: "none", SecretHash: []byte{2}, Roles: []store.RoleBinding{{SpaceID: closed.ID, Role: store.RoleRead}}}))(t)
	stacks, _ = must2(s.ListStacks(ctx(t), store.ListFilter{ReadableBy: none.ID, SpaceIDs: []string{deeper.ID}}))(t)
	if len(stacks) != 0 {
		t.Fatalf("ReadableBy and SpaceIDs combine with AND: got %v", ids(stacks, stackID))
	}
}

func testSpaceQuotas(t *testing.T, s store.Store) {
	s.SetQuotas(store.Quotas{MaxSpaces: 3, MaxSpaceDepth: 2})
	a := newSpace(t, s, "a", store.RootSpaceID)
	ab := newSpace(t, s, "ab", a.ID)
	_, err := s.CreateSpace(ctx(t), store.Space{Name: "abc", ParentSpaceID: ab.ID})
	wantQuota(t, err, "parent_space_id", "create at depth 3")
	x := newSpace(t, s, "x", store.RootSpaceID)
	_, err = s.CreateSpace(ctx(t), store.Space{Name: "fourth", ParentSpaceID: store.RootSpaceID})
	wantQuota(t, err, "", "fourth space")
	// x has no children: under a it sits at 2. ab under x would be fine, but a
	// (with child ab) under x would put ab at 3.
	x.ParentSpaceID = a.ID
	must(s.UpdateSpace(ctx(t), x))(t)
	a.ParentSpaceID = x.ID
	_, err = s.UpdateSpace(ctx(t), a)
	if err == nil {
		t.Fatal("a cycle was accepted")
	}
	x.ParentSpaceID = store.RootSpaceID
	must(s.UpdateSpace(ctx(t), x))(t)
	a.ParentSpaceID = x.ID
	_, err = s.UpdateSpace(ctx(t), a)
	wantQuota(t, err, "parent_space_id", "move that pushes a child to depth 3")
	mustNil(t, s.DeleteSpace(ctx(t), ab.ID))
	newSpace(t, s, "third again", store.RootSpaceID)
	s.SetQuotas(store.Quotas{})
	newSpace(t, s, "unlimited", store.RootSpaceID)
}

// Concurrent creates do not overshoot the space quota (on PostgreSQL each would
// otherwise count on a snapshot without the others).
func testSpaceQuotaConcurrent(t *testing.T, s store.Store) {
	const limit, writers = 5, 12
	s.SetQuotas(store.Quotas{MaxSpaces: limit})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateSpace(ctx(t), store.Space{Name: fmt.Sprintf("w%d", i), ParentSpaceID: store.RootSpaceID})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, store.ErrQuota):
			t.Fatalf("concurrent create: %v", err)
		}
	}
	if created != limit || len(must(s.AllSpaces(ctx(t)))(t)) != limit+1 {
		t.Fatalf("%d creates succeeded under a quota of %d", created, limit)
	}
}

func wantQuota(t *testing.T, err error, field, what string) {
	t.Helper()
	var qe *store.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, store.ErrQuota) || qe.Field != field || qe.Limit == 0 {
		t.Fatalf("%s: err = %v, want QuotaError on %q", what, err, field)
	}
}
