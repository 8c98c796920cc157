package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
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

// TestRenameMatchedByRepositoryID: a push teaches the binding its repository's stable
// id (Cloud uuid, DC id); when orbit later hears only of a second rename (platform →
// platform2: it missed infra → platform), the binding, still naming infra, is matched
// by that id, names platform2 with renamed_from infra, and a push to platform2 starts
// its run. A binding of another repository is untouched. Signed deliveries as each
// product sends them.
func TestRenameMatchedByRepositoryID(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	cases := []struct {
		product, namespace, push, rename string
		body                             map[string]any
		pushBody                         func(repo, commit string) string
		renameBody                       func(old, renamed string) string
	}{
		{"cloud", "acme", "repo:push", "repo:updated", cloudBody("by-id-cloud", "root", "token-that-is-long"),
			func(repo, commit string) string {
				return `{"repository":{"full_name":"acme/` + repo + `","uuid":"{5e2a6d3c-0b7e-4d8f-9a51-6c1d2e3f4a5b}"},` +
					`"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"` + commit + `"}},"old":null}]}}`
			},
			func(old, renamed string) string {
				return `{"repository":{"full_name":"acme/` + renamed + `","uuid":"{5E2A6D3C-0B7E-4D8F-9A51-6C1D2E3F4A5B}"},` +
					`"changes":{"full_name":{"old":"acme/` + old + `","new":"acme/` + renamed + `"}}}`
			}},
		{"datacenter", "PLAT", "repo:refs_changed", "repo:modified", dcBody("by-id-dc", "root", "token-that-is-long"),
			func(repo, commit string) string {
				return `{"eventKey":"repo:refs_changed","repository":{"id":42,"slug":"` + repo + `","project":{"key":"PLAT"}},` +
					`"changes":[{"ref":{"id":"refs/heads/main","displayId":"main","type":"BRANCH"},"refId":"refs/heads/main",` +
					`"fromHash":"0000000000000000000000000000000000000000","toHash":"` + commit + `","type":"UPDATE"}]}`
			},
			func(old, renamed string) string {
				return `{"eventKey":"repo:modified","old":{"id":42,"slug":"` + old + `","project":{"key":"PLAT"}},` +
					`"new":{"id":42,"slug":"` + renamed + `","project":{"key":"PLAT"}}}`
			}},
	}
	for i, tc := range cases {
		h := newHookTarget(t, c, tc.body)
		send := func(id, event, body string) store.Delivery {
			status, answer := h.send(t, delivery{body: body, event: event, requestID: tc.product + "-" + id, signWith: h.secret})
			var ans struct {
				DeliveryID string `json:"delivery_id"`
			}
			if status != http.StatusAccepted || json.Unmarshal([]byte(answer), &ans) != nil {
				t.Fatalf("%s %s: %d %s", tc.product, id, status, answer)
			}
			return waitProcessed(t, inst, ans.DeliveryID)
		}
		stack := newStack(t, c, tc.product+"-by-id", "root")
		c.must(http.MethodPost, bindingPath(stack), bindingBody(h.id, tc.namespace, "infra"), http.StatusCreated)
		other := newStack(t, c, tc.product+"-other-repo", "root")
		c.must(http.MethodPost, bindingPath(other), bindingBody(h.id, tc.namespace, "app"), http.StatusCreated)

		if d := send("push-infra", tc.push, tc.pushBody("infra", hash(950+i))); d.Decision != store.DecisionRunsStarted {
			t.Fatalf("%s push to infra: %s %q", tc.product, d.Decision, d.Outcome)
		}
		d := send("rename", tc.rename, tc.renameBody("platform", "platform2"))
		if d.Decision != store.DecisionRepositoryRenamed || !strings.Contains(d.Outcome, "1 binding(s)") {
			t.Errorf("%s second rename: %s %q", tc.product, d.Decision, d.Outcome)
		}
		got := c.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK)
		from, _ := got["renamed_from"].(map[string]any)
		if str(got, "repository") != "platform2" || from["repository"] != "infra" {
			t.Errorf("%s binding matched by id: %v", tc.product, got)
		}
		if kept := c.must(http.MethodGet, bindingPath(other), nil, http.StatusOK); str(kept, "repository") != "app" {
			t.Errorf("%s binding of another repository: %v", tc.product, kept)
		}
		if d := send("push-platform2", tc.push, tc.pushBody("platform2", hash(960+i))); d.Decision != store.DecisionRunsStarted {
			t.Errorf("%s push to the renamed repository: %s %q", tc.product, d.Decision, d.Outcome)
		}
	}
}
