package datacenter

import (
	"maps"
	"slices"
	"testing"
)

// The parser knows exactly the documented keys: those a repository webhook accepts
// (WebhookEvents), the test ping and the project webhook's project:modified.
func TestWebhookEventsAreDocumentedKeys(t *testing.T) {
	t.Parallel()
	got := slices.Sorted(maps.Keys(webhookEvents))
	want := slices.Sorted(slices.Values(append([]string{EventPing, EventProjectModified}, WebhookEvents...)))
	if !slices.Equal(got, want) {
		t.Errorf("parser keys %v\n documented %v", got, want)
	}
}
