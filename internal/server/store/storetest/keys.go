package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

var keyTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"KeyCheckStoredOnce", testKeyCheckOnce},
	{"ResealReplacesEverySealedValue", testResealAll},
	{"ResealFailureChangesNothing", testResealFailure},
	{"CreateSpaceGrantsAdminToItsCreator", testSpaceGrantAdmin},
}

func testKeyCheckOnce(t *testing.T, s store.Store) {
	_, err := s.KeyCheck(ctx(t))
	wantNotFound(t, err, "key check of a new database")
	got := must(s.InitKeyCheck(ctx(t), []byte("first")))(t)
	equal(t, string(got), "first", "stored key check")
	// A second server gets the value the first one stored, not its own.
	got = must(s.InitKeyCheck(ctx(t), []byte("second")))(t)
	equal(t, string(got), "first", "key check after a second init")
	got = must(s.KeyCheck(ctx(t)))(t)
	equal(t, string(got), "first", "key check read back")
}

func testResealAll(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "keys", store.RootSpaceID)
	a := must(s.CreateIntegration(ctx(t), cloudIntegration("a", sp.ID)))(t)
	b := must(s.CreateIntegration(ctx(t), dcIntegration("b", sp.ID)))(t)
	must(s.SetWebhookSecret(ctx(t), b.ID, []byte("sealed-secret-b2")))(t)
	must(s.InitKeyCheck(ctx(t), []byte("check")))(t)
	newKey(t, s, "k_reseal")
	_, _, err := s.Idempotent(ctx(t), store.IdempotencyRecord{APIKeyID: "k_reseal", Key: "key-1", RequestHash: "h"},
		func(context.Context) (store.IdempotencyRecord, error) {
			return store.IdempotencyRecord{Status: 201, SealedResponse: []byte("answer")}, nil
		})
	mustNil(t, err)

	sample := must(s.SealedValues(ctx(t), 2))(t)
	if len(sample) != 2 {
		t.Fatalf("SealedValues(2) = %d values", len(sample))
	}
	seen := map[string]bool{}
	resealed, dropped, err := s.Reseal(ctx(t), func(v store.SealedValue) ([]byte, error) {
		seen[v.Kind+"/"+v.ID+"/"+v.Field+"="+string(v.Sealed)] = true
		return append([]byte("new:"), v.Sealed...), nil
	})
	mustNil(t, err)
	want := []string{
		"integration/" + a.ID + "/credential=sealed-credential-a",
		"integration/" + a.ID + "/webhook_secret=sealed-secret-a",
		"integration/" + b.ID + "/credential=" + string([]byte{0, 1, 2, 0xfe, 0xff}),
		"integration/" + b.ID + "/webhook_secret=sealed-secret-b2",
		"integration/" + b.ID + "/previous_webhook_secret=" + string([]byte{9, 8, 7}),
		"key_check/secret_key/=check",
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("Reseal did not pass %s (saw %v)", w, seen)
		}
	}
	if resealed != len(want) || len(seen) != len(want) || dropped != 1 {
		t.Errorf("Reseal = %d resealed, %d dropped; saw %d values, want %d and 1", resealed, dropped, len(seen), len(want))
	}
	gotB := must(s.GetIntegration(ctx(t), b.ID))(t)
	equal(t, string(gotB.SealedCredential), "new:"+string([]byte{0, 1, 2, 0xfe, 0xff}), "credential after Reseal")
	equal(t, string(gotB.SealedWebhookSecret), "new:sealed-secret-b2", "webhook secret after Reseal")
	equal(t, string(gotB.PreviousSealedWebhookSecret), "new:"+string([]byte{9, 8, 7}), "previous webhook secret after Reseal")
	equal(t, string(must(s.KeyCheck(ctx(t)))(t)), "new:check", "key check after Reseal")
	wantNotFound(t, errOnly(s.GetIdempotencyRecord(ctx(t), "k_reseal", "key-1")), "idempotency answer after Reseal")
}

func testResealFailure(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "keys", store.RootSpaceID)
	a := must(s.CreateIntegration(ctx(t), cloudIntegration("a", sp.ID)))(t)
	must(s.InitKeyCheck(ctx(t), []byte("check")))(t)
	boom := errors.New("cannot open")
	calls := 0
	_, _, err := s.Reseal(ctx(t), func(v store.SealedValue) ([]byte, error) {
		calls++
		if calls == 2 {
			return nil, boom
		}
		return []byte("new"), nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Reseal error = %v, want the callback's", err)
	}
	got := must(s.GetIntegration(ctx(t), a.ID))(t)
	equal(t, string(got.SealedCredential), "sealed-credential-a", "credential after a failed Reseal")
	equal(t, string(must(s.KeyCheck(ctx(t)))(t)), "check", "key check after a failed Reseal")
}

func testSpaceGrantAdmin(t *testing.T, s store.Store) {
	newKey(t, s, "k_creator")
	sp := must(s.CreateSpace(ctx(t), store.Space{Name: "mine", ParentSpaceID: store.RootSpaceID, GrantAdminTo: "k_creator"}))(t)
	key := must(s.GetAPIKey(ctx(t), "k_creator"))(t)
	found := false
	for _, b := range key.Roles {
		found = found || (b.SpaceID == sp.ID && b.Role == store.RoleAdmin)
	}
	if !found {
		t.Fatalf("creator's roles after CreateSpace: %+v", key.Roles)
	}
	// A missing key creates nothing.
	_, err := s.CreateSpace(ctx(t), store.Space{Name: "orphan", ParentSpaceID: store.RootSpaceID, GrantAdminTo: "k_missing"})
	var nf *store.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "api_key" {
		t.Fatalf("CreateSpace granting to a missing key: %v", err)
	}
	all := must(s.AllSpaces(ctx(t)))(t)
	for _, other := range all {
		if other.Name == "orphan" {
			t.Fatal("the space was created although its grant failed")
		}
	}
}
