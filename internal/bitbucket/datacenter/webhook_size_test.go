package datacenter_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// bigPush is a repo:refs_changed delivery of refs ref changes, each of the real
// push.json's change shape (ref with id, displayId and type; refId; fromHash; toHash;
// type): branches of nameLen-character names when branches is set (a mirror's
// update), else tags release-2024.<n> (a tag import). Each change weighs about
// 232 + 3 × its name's length bytes.
func bigPush(t *testing.T, refs int, branches bool, nameLen int) []byte {
	t.Helper()
	var push map[string]any
	if err := json.Unmarshal(readPayload(t, "push.json"), &push); err != nil {
		t.Fatal(err)
	}
	changes := make([]any, refs)
	for i := range changes {
		name, prefix, refType, change := fmt.Sprintf("release-2024.%05d", i), "refs/tags/", "TAG", "ADD"
		if branches {
			name = fmt.Sprintf("feature/%0*d", nameLen-len("feature/"), i)
			prefix, refType, change = "refs/heads/", "BRANCH", "UPDATE"
		}
		changes[i] = map[string]any{
			"ref":      map[string]any{"id": prefix + name, "displayId": name, "type": refType},
			"refId":    prefix + name,
			"fromHash": fmt.Sprintf("%040x", i+1<<20),
			"toHash":   fmt.Sprintf("%040x", i+1),
			"type":     change,
		}
	}
	push["changes"] = changes
	raw, err := json.Marshal(push)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseWebhookPushOf3001Refs: pushes of 3,001 refs (a tag import, a mirror's
// update of many branches) parse, and their records are capped by textcap. With
// 64-character branch names the body is over 1 MiB compact: the size the
// receiver's body limit must accept (go test -v prints the sizes).
func TestParseWebhookPushOf3001Refs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		branches bool
		nameLen  int
	}{
		{"tags", false, 0},
		{"branches of 64 characters", true, 64},
		{"branches of 255 characters", true, 255},
	} {
		raw := bigPush(t, 3001, tc.branches, tc.nameLen)
		var indented bytes.Buffer
		if err := json.Indent(&indented, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		t.Logf("repo:refs_changed of 3,001 %s: %d bytes compact (%.2f MiB), %d indented (%.2f MiB)", tc.name,
			len(raw), float64(len(raw))/(1<<20), indented.Len(), float64(indented.Len())/(1<<20))
		if tc.nameLen == 64 && len(raw) <= 1<<20 {
			t.Errorf("%d bytes: within 1 MiB, this case no longer shows why the limit was raised", len(raw))
		}
		ev, err := datacenter.ParseWebhook("repo:refs_changed", raw)
		if err != nil {
			t.Fatal(err)
		}
		records := ev.Skipped
		if tc.branches {
			records = make([]string, len(ev.Pushes))
			for i, p := range ev.Pushes {
				records[i] = p.Branch + "@" + p.Commit
			}
		}
		if len(records) != 3001 {
			t.Fatalf("%s: %d pushes, %d skipped", tc.name, len(ev.Pushes), len(ev.Skipped))
		}
		if summary := textcap.List(records, ", ", textcap.DefaultLimit); len(summary) > textcap.DefaultLimit {
			t.Errorf("summary of %d bytes", len(summary))
		}
	}
}
