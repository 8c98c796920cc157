package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

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
