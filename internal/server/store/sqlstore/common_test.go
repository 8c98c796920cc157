package sqlstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

func TestPageToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, id string }{{"a", "b"}, {"", "x"}, {"with space/and:colon", "id-1"}} {
		name, id, err := decodePageToken(encodePageToken(tc.name, tc.id))
		if err != nil || name != tc.name || id != tc.id {
			t.Errorf("round trip of (%q,%q) = (%q,%q,%v)", tc.name, tc.id, name, id, err)
		}
	}
	for _, bad := range []string{"", "!!", encodePageToken("a", ""), "djEAYQ"} {
		if _, _, err := decodePageToken(bad); !errors.Is(err, store.ErrBadPageToken) {
			t.Errorf("decodePageToken(%q) = %v, want ErrBadPageToken", bad, err)
		}
	}
}

func TestTimestamps(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.FixedZone("CET", 3600))
	stored := formatTime(now)
	if stored != "2026-03-04T04:06:07.890123Z" {
		t.Fatalf("formatTime = %q", stored)
	}
	tests := map[string]time.Time{
		stored:                          now,
		"2026-03-04 04:06:07":           time.Date(2026, 3, 4, 4, 6, 7, 0, time.UTC),   // SQLite CURRENT_TIMESTAMP
		"2026-03-04 05:06:07.5+01":      time.Date(2026, 3, 4, 4, 6, 7, 5e8, time.UTC), // PostgreSQL timestamptz as text
		"2026-03-04 04:06:07.123456+00": time.Date(2026, 3, 4, 4, 6, 7, 123456000, time.UTC),
	}
	for in, want := range tests {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Fatalf("parseTime accepted garbage")
	}
}

func TestNormalizeLabels(t *testing.T) {
	t.Parallel()
	got := normalizeLabels([]string{"b", "a", "b"})
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %v", got)
	}
	if got := normalizeLabels(nil); got == nil || len(got) != 0 {
		t.Fatalf("nil labels normalise to %#v, want empty non-nil", got)
	}
	in := []string{"z", "a"}
	normalizeLabels(in)
	if in[0] != "z" {
		t.Fatalf("normalizeLabels modified its argument")
	}
}
