package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

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
