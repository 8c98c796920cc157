package textcap_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

func TestString(t *testing.T) {
	t.Parallel()
	if got := textcap.String("short", 10); got != "short" {
		t.Errorf("fits: %q", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	got := textcap.String(long, 40)
	if len(got) > 40 || !utf8.ValidString(got) {
		t.Fatalf("cut %q: %d bytes, valid %v", got, len(got), utf8.ValidString(got))
	}
	head, tail, ok := strings.Cut(got, " … and ")
	if !ok || tail != fmt.Sprintf("%d more bytes", 200-len(head)) || !strings.HasPrefix(long, head) || head == "" {
		t.Errorf("cut %q: head %q tail %q", got, head, tail)
	}
	if got := textcap.String(long, 5); len(got) > 5 || !utf8.ValidString(got) {
		t.Errorf("tiny limit: %q", got)
	}
	if got := textcap.String(long, 0); got != "" {
		t.Errorf("zero limit: %q", got)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	items := make([]string, 3001)
	for i := range items {
		items[i] = fmt.Sprintf("refs/tags/v1.0.%d", i)
	}
	got := textcap.List(items, ", ", textcap.DefaultLimit)
	if len(got) > textcap.DefaultLimit || len(got) < textcap.DefaultLimit-100 {
		t.Fatalf("%d bytes, want close to and at most %d", len(got), textcap.DefaultLimit)
	}
	kept := strings.Split(got, ", ")
	last := kept[len(kept)-1]
	kept = kept[:len(kept)-1]
	if want := fmt.Sprintf("… and %d more", len(items)-len(kept)); last != want {
		t.Errorf("tail %q, want %q", last, want)
	}
	for i, k := range kept {
		if k != items[i] {
			t.Fatalf("item %d: %q, want %q", i, k, items[i])
		}
	}
	// Everything fits: no tail.
	if got := textcap.List(items[:3], ", ", 100); got != "refs/tags/v1.0.0, refs/tags/v1.0.1, refs/tags/v1.0.2" {
		t.Errorf("fits: %q", got)
	}
	// The last item fits only without the tail it no longer needs.
	if got := textcap.List([]string{"aaaa", "bbbb"}, ", ", 10); got != "aaaa, bbbb" {
		t.Errorf("exact fit: %q", got)
	}
	if got := textcap.List([]string{"aaaa", strings.Repeat("b", 20), "c"}, ", ", 22); got != "aaaa, … and 2 more" {
		t.Errorf("tight: %q", got)
	}
	// A first item longer than the limit is shown cut, with the rest counted.
	huge := []string{strings.Repeat("x", 500), "y"}
	got = textcap.List(huge, ", ", 60)
	if len(got) > 60 || !strings.HasPrefix(got, "xxx") || !strings.HasSuffix(got, ", … and 1 more") {
		t.Errorf("huge first item: %q (%d bytes)", got, len(got))
	}
	if got := textcap.List(nil, ", ", 10); got != "" {
		t.Errorf("empty: %q", got)
	}
	for limit := range 40 {
		if got := textcap.List(items[:50], "; ", limit); len(got) > limit || !utf8.ValidString(got) {
			t.Errorf("limit %d: %q", limit, got)
		}
	}
}
