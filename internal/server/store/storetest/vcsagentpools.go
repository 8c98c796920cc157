package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

var poolTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"VCSAgentPoolCRUD", testPoolCRUD},
	{"VCSAgentPoolNameUnique", testPoolNameUnique},
	{"VCSAgentPoolDeleteBlockedByIntegration", testPoolDeleteBlocked},
	{"VCSAgentPoolList", testPoolList},
	{"VCSAgentPoolTokens", testPoolTokens},
	{"VCSAgentPoolTokenRotate", testPoolTokenRotate},
	{"VCSAgentPoolTokenQuota", testPoolTokenQuota},
}

func equalPool(t *testing.T, got, want store.VCSAgentPool, what string) {
	t.Helper()
	got.CreatedAt, got.UpdatedAt = sameTime(got.CreatedAt), sameTime(got.UpdatedAt)
	want.CreatedAt, want.UpdatedAt = sameTime(want.CreatedAt), sameTime(want.UpdatedAt)
	if got != want {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func equalToken(t *testing.T, got, want store.VCSAgentPoolToken, what string) {
	t.Helper()
	got.CreatedAt, want.CreatedAt = sameTime(got.CreatedAt), sameTime(want.CreatedAt)
	if !got.ExpiresAt.IsZero() {
		got.ExpiresAt = sameTime(got.ExpiresAt)
	}
	if !want.ExpiresAt.IsZero() {
		want.ExpiresAt = sameTime(want.ExpiresAt)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func testPoolCRUD(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "team", "")
	other := newSpace(t, s, "other", "")
	created := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "dc-east", SpaceID: sp.ID, Description: "east"}))(t)
	if created.ID == "" {
		t.Fatal("no id generated")
	}
	checkTimestamps(t, created.CreatedAt, created.UpdatedAt, "pool create")
	equalPool(t, must(s.GetVCSAgentPool(ctx(t), created.ID))(t), created, "get")
	equalPool(t, must(s.GetVCSAgentPoolByName(ctx(t), "dc-east"))(t), created, "get by name")

	next := created
	next.Name, next.SpaceID, next.Description = "renamed-ignored", other.ID, ""
	updated := must(s.UpdateVCSAgentPool(ctx(t), next))(t)
	want := next
	want.Name, want.UpdatedAt = created.Name, updated.UpdatedAt
	equalPool(t, updated, want, "update result")
	equalPool(t, must(s.GetVCSAgentPool(ctx(t), created.ID))(t), updated, "get after update")

	// A space holding a pool cannot be deleted.
	err := s.DeleteSpace(ctx(t), other.ID)
	wantConflict(t, err, "", "delete a space holding a pool")

	next.SpaceID = "missing"
	_, err = s.UpdateVCSAgentPool(ctx(t), next)
	wantNotFound(t, err, "move to a missing space")
	_, err = s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "orphan", SpaceID: "missing"})
	wantNotFound(t, err, "pool in a missing space")
	_, err = s.UpdateVCSAgentPool(ctx(t), store.VCSAgentPool{ID: "missing", SpaceID: sp.ID})
	wantNotFound(t, err, "update a missing pool")

	tok := must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: created.ID, SecretHash: []byte{1, 2, 3}}))(t)
	mustNil(t, s.DeleteVCSAgentPool(ctx(t), created.ID))
	_, err = s.GetVCSAgentPool(ctx(t), created.ID)
	wantNotFound(t, err, "get deleted")
	_, err = s.GetVCSAgentPoolToken(ctx(t), tok.ID)
	wantNotFound(t, err, "the deleted pool's token")
	wantNotFound(t, s.DeleteVCSAgentPool(ctx(t), created.ID), "delete deleted")
	mustNil(t, s.DeleteSpace(ctx(t), other.ID))
}

func testPoolNameUnique(t *testing.T, s store.Store) {
	a := newSpace(t, s, "a", "")
	b := newSpace(t, s, "b", "")
	first := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "shared", SpaceID: a.ID}))(t)
	_, err := s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "shared", SpaceID: b.ID})
	wantConflict(t, err, "name", "same name in another space")
	_, err = s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{ID: first.ID, Name: "other", SpaceID: b.ID})
	wantConflict(t, err, "id", "preset id in use")
	mustNil(t, s.DeleteVCSAgentPool(ctx(t), first.ID))
	must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "shared", SpaceID: b.ID}))(t)
}

func testPoolDeleteBlocked(t *testing.T, s store.Store) {
	pool := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "inside", SpaceID: store.RootSpaceID}))(t)
	in := dcIntegration("dc", store.RootSpaceID)
	in.APIHost = "private://inside"
	in = must(s.CreateIntegration(ctx(t), in))(t)
	must(s.CreateIntegration(ctx(t), dcIntegration("direct", store.RootSpaceID)))(t)
	users := must(s.IntegrationsUsingVCSAgentPool(ctx(t), "inside"))(t)
	if len(users) != 1 || users[0].ID != in.ID {
		t.Fatalf("integrations using the pool: %+v", users)
	}
	err := s.DeleteVCSAgentPool(ctx(t), pool.ID)
	wantConflict(t, err, "", "delete a pool an integration names")
	must(s.GetVCSAgentPool(ctx(t), pool.ID))(t)
	in.APIHost = "https://bitbucket.example.com"
	must(s.UpdateIntegration(ctx(t), in))(t)
	if users := must(s.IntegrationsUsingVCSAgentPool(ctx(t), "inside"))(t); len(users) != 0 {
		t.Fatalf("integrations using the pool after the change: %+v", users)
	}
	mustNil(t, s.DeleteVCSAgentPool(ctx(t), pool.ID))
}

func testPoolList(t *testing.T, s store.Store) {
	a := newSpace(t, s, "a", "")
	b := newSpace(t, s, "b", "")
	var all []string
	for _, n := range []struct{ name, space string }{{"p3", a.ID}, {"p1", b.ID}, {"p2", a.ID}} {
		must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: n.name, SpaceID: n.space}))(t)
	}
	all = []string{"p1", "p2", "p3"}
	names := func(items []store.VCSAgentPool) []string {
		return ids(items, func(p store.VCSAgentPool) string { return p.Name })
	}
	var got []string
	f := store.ListFilter{PageSize: 2}
	for {
		items, next := must2(s.ListVCSAgentPools(ctx(t), f))(t)
		got = append(got, names(items)...)
		if next == "" {
			break
		}
		f.PageToken = next
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("paged list %v, want %v", got, all)
	}
	items, _ := must2(s.ListVCSAgentPools(ctx(t), store.ListFilter{SpaceIDs: []string{a.ID}}))(t)
	if !reflect.DeepEqual(names(items), []string{"p2", "p3"}) {
		t.Fatalf("space filter %v", names(items))
	}
	items, _ = must2(s.ListVCSAgentPools(ctx(t), store.ListFilter{Name: "p1"}))(t)
	if !reflect.DeepEqual(names(items), []string{"p1"}) {
		t.Fatalf("name filter %v", names(items))
	}
	items, _ = must2(s.ListVCSAgentPools(ctx(t), store.ListFilter{SpaceIDs: []string{}}))(t)
	if len(items) != 0 {
		t.Fatalf("empty space filter %v", names(items))
	}
	must(s.CreateAPIKey(ctx(t), store.APIKey{ID: "k_b", Name: "b", SecretHash: []byte{1},
		Roles: []store.RoleBinding{{SpaceID: b.ID, Role: store.RoleRead}}}))(t)
	items, _ = must2(s.ListVCSAgentPools(ctx(t), store.ListFilter{ReadableBy: "k_b"}))(t)
	if !reflect.DeepEqual(names(items), []string{"p1"}) {
		t.Fatalf("readable by k_b %v", names(items))
	}
	_, _, err := s.ListVCSAgentPools(ctx(t), store.ListFilter{PageToken: "nope"})
	if !errors.Is(err, store.ErrBadPageToken) {
		t.Fatalf("bad page token: %v", err)
	}
}

func testPoolTokens(t *testing.T, s store.Store) {
	pool := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "p", SpaceID: store.RootSpaceID}))(t)
	other := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "q", SpaceID: store.RootSpaceID}))(t)
	later := time.Now().Add(time.Hour).UTC()
	first := must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, Description: "first", SecretHash: []byte{1, 2, 0xff}}))(t)
	second := must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{ID: "pt_preset", PoolID: pool.ID, SecretHash: []byte{9}, ExpiresAt: later}))(t)
	if first.ID == "" || second.ID != "pt_preset" || first.CreatedAt.IsZero() {
		t.Fatalf("created %+v %+v", first, second)
	}
	equalToken(t, must(s.GetVCSAgentPoolToken(ctx(t), first.ID))(t), first, "get first")
	equalToken(t, must(s.GetVCSAgentPoolToken(ctx(t), second.ID))(t), second, "get second (expiry kept)")
	list := must(s.ListVCSAgentPoolTokens(ctx(t), pool.ID))(t)
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("list %+v", list)
	}
	if got := must(s.ListVCSAgentPoolTokens(ctx(t), other.ID))(t); len(got) != 0 {
		t.Fatalf("other pool lists %+v", got)
	}
	_, err := s.ListVCSAgentPoolTokens(ctx(t), "missing")
	wantNotFound(t, err, "tokens of a missing pool")
	_, err = s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: "missing", SecretHash: []byte{1}})
	wantNotFound(t, err, "token of a missing pool")

	wantNotFound(t, s.DeleteVCSAgentPoolToken(ctx(t), other.ID, first.ID), "revoke through another pool")
	mustNil(t, s.DeleteVCSAgentPoolToken(ctx(t), pool.ID, first.ID))
	_, err = s.GetVCSAgentPoolToken(ctx(t), first.ID)
	wantNotFound(t, err, "revoked token")
	wantNotFound(t, s.DeleteVCSAgentPoolToken(ctx(t), pool.ID, first.ID), "revoke twice")
}

func testPoolTokenRotate(t *testing.T, s store.Store) {
	pool := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "p", SpaceID: store.RootSpaceID}))(t)
	other := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "q", SpaceID: store.RootSpaceID}))(t)
	old := must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{1}}))(t)
	until := time.Now().Add(10 * time.Minute).UTC()
	next := must(s.RotateVCSAgentPoolToken(ctx(t), old.ID, store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{2}}, until))(t)
	gotOld := must(s.GetVCSAgentPoolToken(ctx(t), old.ID))(t)
	if !sameTime(gotOld.ExpiresAt).Equal(sameTime(until.Truncate(time.Microsecond))) {
		t.Fatalf("rotated token expires %v, want %v", gotOld.ExpiresAt, until)
	}
	equalToken(t, must(s.GetVCSAgentPoolToken(ctx(t), next.ID))(t), next, "new token")
	if !next.ExpiresAt.IsZero() {
		t.Fatalf("new token expires %v", next.ExpiresAt)
	}
	// A second rotation with a longer grace does not extend the first one's.
	must(s.RotateVCSAgentPoolToken(ctx(t), old.ID, store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{3}}, until.Add(time.Hour)))(t)
	if got := must(s.GetVCSAgentPoolToken(ctx(t), old.ID))(t); !sameTime(got.ExpiresAt).Equal(sameTime(gotOld.ExpiresAt)) {
		t.Fatalf("second rotation moved the expiry to %v", got.ExpiresAt)
	}
	// Rotating through another pool, or a missing token, changes nothing.
	before := must(s.ListVCSAgentPoolTokens(ctx(t), other.ID))(t)
	_, err := s.RotateVCSAgentPoolToken(ctx(t), next.ID, store.VCSAgentPoolToken{PoolID: other.ID, SecretHash: []byte{4}}, until)
	wantNotFound(t, err, "rotate through another pool")
	_, err = s.RotateVCSAgentPoolToken(ctx(t), "pt_missing", store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{4}}, until)
	wantNotFound(t, err, "rotate a missing token")
	if after := must(s.ListVCSAgentPoolTokens(ctx(t), other.ID))(t); len(after) != len(before) {
		t.Fatalf("a refused rotation stored a token: %+v", after)
	}
	if got := must(s.GetVCSAgentPoolToken(ctx(t), next.ID))(t); !got.ExpiresAt.IsZero() {
		t.Fatalf("a refused rotation set an expiry: %v", got.ExpiresAt)
	}
}

func testPoolTokenQuota(t *testing.T, s store.Store) {
	pool := must(s.CreateVCSAgentPool(ctx(t), store.VCSAgentPool{Name: "p", SpaceID: store.RootSpaceID}))(t)
	past := time.Now().Add(-time.Minute).UTC()
	// One token already expired: it is dropped when the pool is full.
	expired := must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{0}, ExpiresAt: past}))(t)
	for i := 1; i < store.MaxVCSAgentPoolTokens; i++ {
		must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{byte(i)}}))(t)
	}
	must(s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{0xfe}}))(t)
	_, err := s.GetVCSAgentPoolToken(ctx(t), expired.ID)
	wantNotFound(t, err, "expired token dropped when issuing")
	_, err = s.CreateVCSAgentPoolToken(ctx(t), store.VCSAgentPoolToken{PoolID: pool.ID, SecretHash: []byte{0xff}})
	var qe *store.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, store.ErrQuota) {
		t.Fatalf("token past the quota: %v", err)
	}
	if n := len(must(s.ListVCSAgentPoolTokens(ctx(t), pool.ID))(t)); n != store.MaxVCSAgentPoolTokens {
		t.Fatalf("pool holds %d tokens", n)
	}
}
