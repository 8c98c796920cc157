package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// TestLoopRepositoryRename: Bitbucket renames a bound repository (the sandbox sends
// Cloud repo:updated / DC repo:modified to the hook, which subscribes to the
// required events): the delivery is decided repository_renamed, the binding names
// the new slug with renamed_from the old one and a new version, a binding of
// another repository is untouched, a push to the renamed repository starts a run
// on it, and the binding's next write clears renamed_from. Both products.
func TestLoopRepositoryRename(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	cases := []struct {
		product, integration, namespace, push string
	}{
		{"cloud", l.cloud, "acme", "repo:push"},
		{"datacenter", l.dc, "PLAT", "repo:refs_changed"},
	}
	for i, tc := range cases {
		renamed := l.bind(tc.product+"-renamed", tc.integration, tc.namespace)
		other := newStack(t, l.c, tc.product+"-other", "root")
		l.c.must(http.MethodPost, bindingPath(other), bindingBody(tc.integration, tc.namespace, "app"), http.StatusCreated)
		before := l.c.must(http.MethodGet, bindingPath(renamed), nil, http.StatusOK)

		rn := sandbox.Rename{Product: tc.product, Repository: "infra", NewName: "platform"}
		if tc.product == "cloud" {
			rn.Workspace = tc.namespace
		} else {
			rn.Project = tc.namespace
		}
		deliveries, err := l.sb.RenameRepository(t.Context(), rn)
		if err != nil || len(deliveries) != 1 {
			t.Fatalf("%s rename: %v, %d deliveries", tc.product, err, len(deliveries))
		}
		var ans struct {
			DeliveryID string `json:"delivery_id"`
		}
		if deliveries[0].Status != http.StatusAccepted || json.Unmarshal([]byte(deliveries[0].ResponseBody), &ans) != nil {
			t.Fatalf("%s rename delivery answered %d %s", tc.product, deliveries[0].Status, deliveries[0].ResponseBody)
		}
		d := waitProcessed(t, l.inst, ans.DeliveryID)
		if d.Decision != store.DecisionRepositoryRenamed || d.Repository != "platform" ||
			!strings.Contains(d.Outcome, tc.namespace+"/infra") || !strings.Contains(d.Outcome, tc.namespace+"/platform") || !strings.Contains(d.Outcome, "1 binding(s)") {
			t.Errorf("%s rename delivery: %s %s/%s %q", tc.product, d.Decision, d.Namespace, d.Repository, d.Outcome)
		}

		got := l.c.must(http.MethodGet, bindingPath(renamed), nil, http.StatusOK)
		from, _ := got["renamed_from"].(map[string]any)
		if str(got, "repository") != "platform" || str(got, "namespace") != tc.namespace || from["repository"] != "infra" || from["namespace"] != tc.namespace ||
			str(got, "version") == str(before, "version") || !strings.HasSuffix(str(got, "repository_url"), "/platform") {
			t.Errorf("%s binding after the rename: %v", tc.product, got)
		}
		if kept := l.c.must(http.MethodGet, bindingPath(other), nil, http.StatusOK); str(kept, "repository") != "app" || kept["renamed_from"] != nil {
			t.Errorf("%s binding of another repository changed: %v", tc.product, kept)
		}

		head := hash(900 + i)
		ev := sandbox.Event{Product: tc.product, Repository: "platform", Event: tc.push, Branch: "main", Commits: []sandbox.Commit{{Hash: head}}}
		if tc.product == "cloud" {
			ev.Workspace = tc.namespace
		} else {
			ev.Project = tc.namespace
		}
		l.fire(ev)
		runs := l.waitRuns(head, 1)
		if runs[0].StackID != renamed || runs[0].Repository != "platform" {
			t.Errorf("%s push to the renamed repository: %+v", tc.product, runs[0])
		}

		written := l.c.ifMatch(str(got, "version")).must(http.MethodPut, bindingPath(renamed), bindingBody(tc.integration, tc.namespace, "platform"), http.StatusOK)
		if written["renamed_from"] != nil {
			t.Errorf("%s binding written after the rename keeps renamed_from: %v", tc.product, written)
		}
	}
}
