package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// notFired are the keys a hook may subscribe to that the sandbox never sends
// (internal/sandbox/CONTROL.md): a Pipelines event, DC secret scanning and build
// status events. Their parsing is covered by the bitbucket packages' tests.
var notFired = []string{"pipeline:span_created", "repo:secret_detected", "build:status_updated"}

// TestWebhookEveryDocumentedEvent: every event key of both products, fired by the
// sandbox in the documented shape into a real server through the product's hook, is
// answered 2xx; only a push to a bound branch, a pull request opened and a pull
// request whose source moved start runs (SPEC.md, Dispatch). The ignored ones are
// recorded, processed, with why.
func TestWebhookEveryDocumentedEvent(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	products := []struct {
		product, integration, namespace string
		keys, starting                  []string
	}{
		{"cloud", l.cloud, "acme", cloud.HookEvents, []string{"repo:push", "pullrequest:created", "pullrequest:updated"}},
		{"datacenter", l.dc, "PLAT", append(slices.Clone(datacenter.WebhookEvents), "diagnostics:ping"),
			[]string{"repo:refs_changed", "pr:opened", "pr:from_ref_updated"}},
	}
	for i, p := range products {
		stack := l.bind(p.product+"-stack", p.integration, p.namespace)
		hook := l.hookID(p.product)
		fired := map[string]string{} // event key -> delivery id ("" for a ping)
		for j, key := range p.keys {
			if slices.Contains(notFired, key) {
				continue
			}
			commit := hash(1000*(i+1) + j)
			ev := sandbox.Event{Product: p.product, Workspace: "acme", Project: "PLAT", Repository: "infra", Event: key,
				Hook: hook, Branch: "main", Commits: []sandbox.Commit{{Hash: commit, Message: key}}}
			if strings.HasPrefix(key, "pullrequest:") || strings.HasPrefix(key, "pr:") {
				ev.Commits = nil
				ev.PullRequest = &sandbox.PullRequest{ID: 100 + j, Title: key, SourceBranch: "feature-" + fmt.Sprint(j),
					SourceCommit: commit, DestinationBranch: "main"}
			}
			deliveries, err := l.sb.Fire(t.Context(), ev)
			if err != nil {
				t.Fatalf("%s %s: %v", p.product, key, err)
			}
			if len(deliveries) != 1 {
				t.Fatalf("%s %s: %d deliveries", p.product, key, len(deliveries))
			}
			d := deliveries[0]
			if d.Status < 200 || d.Status > 299 {
				t.Errorf("%s %s: answered %d %s", p.product, key, d.Status, d.ResponseBody)
				continue
			}
			var ans struct {
				Status     string `json:"status"`
				DeliveryID string `json:"delivery_id"`
				Reason     string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(d.ResponseBody), &ans); err != nil {
				t.Fatalf("%s %s: answer %q", p.product, key, d.ResponseBody)
			}
			switch {
			case key == "diagnostics:ping":
				if ans.Status != "pong" {
					t.Errorf("ping answered %s", d.ResponseBody)
				}
			case ans.Status == "ignored":
				if d.Status != http.StatusOK || ans.Reason == "" || slices.Contains(p.starting, key) {
					t.Errorf("%s %s: ignored with %d %s", p.product, key, d.Status, d.ResponseBody)
				}
			case ans.Status != "accepted" || d.Status != http.StatusAccepted:
				t.Errorf("%s %s: %d %s", p.product, key, d.Status, d.ResponseBody)
			}
			fired[key] = ans.DeliveryID
		}
		// Every delivery processed; runs only from the starting keys.
		started := map[string]bool{}
		for key, id := range fired {
			if id == "" {
				continue
			}
			got := waitProcessed(t, l.inst, id)
			if got.Outcome == "" || len(got.Outcome) > textcap.DefaultLimit {
				t.Errorf("%s %s: outcome %q", p.product, key, got.Outcome)
			}
			if _, runs := outcomeRuns(got); runs {
				started[key] = true
			}
		}
		byDelivery := map[string]int{}
		for _, r := range l.stackRuns(stack) {
			if r.DeliveryID != nil {
				byDelivery[*r.DeliveryID]++
			}
		}
		for key, id := range fired {
			want := slices.Contains(p.starting, key)
			if got := byDelivery[id] > 0 && id != ""; got != want {
				t.Errorf("%s %s: started runs %v, want %v (outcome said %v)", p.product, key, got, want, started[key])
			}
		}
		for _, key := range p.starting {
			if _, ok := fired[key]; !ok {
				t.Errorf("%s: %s was not fired", p.product, key)
			}
		}
	}
}

// outcomeRuns reads "…: N run(s)" from a dispatched delivery's outcome.
func outcomeRuns(d store.Delivery) (int, bool) {
	var n int
	i := strings.LastIndex(d.Outcome, ": ")
	if i < 0 {
		return 0, false
	}
	if _, err := fmt.Sscanf(d.Outcome[i+2:], "%d run(s)", &n); err != nil {
		return 0, false
	}
	return n, n > 0
}
