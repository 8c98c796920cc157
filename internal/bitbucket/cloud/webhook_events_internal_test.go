package cloud

import (
	"maps"
	"slices"
	"testing"
)

// The parser knows exactly the keys a Cloud hook can subscribe to (HookEvents, held
// to the description's enum by TestHookEventsMatchDescription).
func TestWebhookEventsAreHookEvents(t *testing.T) {
	t.Parallel()
	got := slices.Sorted(maps.Keys(webhookEvents))
	want := slices.Sorted(slices.Values(HookEvents))
	if !slices.Equal(got, want) {
		t.Errorf("parser keys %v\n hook events %v", got, want)
	}
}
