package store

import (
	"regexp"
	"testing"
)

func TestNewID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, fallback, prefix string }{
		{"Platform Team", "space", "platform-team-"},
		{"  --  ", "stack", "stack-"},
		{"", "integration", "integration-"},
		{"main_cloud.v2", "integration", "main-cloud-v2-"},
		{"ÄÖÜ über", "space", "ber-"},
		{"a-very-long-name-that-goes-on-and-on-and-on", "space", "a-very-long-name-that-go-"},
	}
	shape := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*-[a-z2-7]{10}$`)
	for _, tc := range tests {
		id := NewID(tc.name, tc.fallback)
		if !shape.MatchString(id) || id[:len(id)-10] != tc.prefix {
			t.Errorf("NewID(%q) = %q, want prefix %q and 10 random chars", tc.name, id, tc.prefix)
		}
	}
	if a, b := NewID("x", "y"), NewID("x", "y"); a == b {
		t.Fatalf("two ids for one name are equal")
	}
}
