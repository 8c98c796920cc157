package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// loop is orbit-server and the Bitbucket sandbox wired together as in production: an
// integration per product with its webhook on the sandbox's repository infra, and
// stacks bound to that repository.
type loop struct {
	t      *testing.T
	sb     *sandbox.TestServer
	inst   *servertest.Instance
	c      *client
	cloud  string // integration ids
	dc     string
	stacks map[string]string // name -> id
}

func newLoop(t *testing.T, vcsChecks string, opts ...servertest.Option) *loop {
	t.Helper()
	sb := sandbox.StartTest(t)
	if err := sb.Seed(sandbox.DemoSeed()); err != nil {
		t.Fatal(err)
	}
	opts = append([]servertest.Option{servertest.WithConfig(func(c *server.Config) { c.BitbucketCloudAPIURL = sb.URL })}, opts...)
	inst := servertest.Start(t, opts...)
	l := &loop{t: t, sb: sb, inst: inst, c: newClient(t, inst, inst.AdminKey), stacks: map[string]string{}}
	l.c.check = openAPIChecker(t)
	l.cloud = l.integration(with(cloudBody("cloud-"+vcsChecks, "root", "sandbox-cloud-admin-token"), "vcs_checks", vcsChecks))
	l.dc = l.integration(with(dcBody("dc-"+vcsChecks, "root", "sandbox-dc-admin-token"), "vcs_checks", vcsChecks,
		"api_host", sb.URL, "username", "admin"))
	return l
}

// integration creates one and its webhook on the sandbox repository infra.
func (l *loop) integration(body map[string]any) string {
	t := l.t
	t.Helper()
	created := l.c.must(http.MethodPost, "/api/v1/integrations", body, http.StatusCreated)
	url, secret := str(created, "webhook_url"), bitbucket.Secret(str(created, "webhook_secret"))
	if created["provider"] == "bitbucket_cloud" {
		client, err := cloud.New(cloud.APIToken("dev@example.com", "sandbox-cloud-admin-token"), bitbucket.WithBaseURL(l.sb.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateHook(t.Context(), "acme", "infra", cloud.CreateHookRequest{
			URL: url, Description: "orbit", Active: true, Events: cloud.RequiredEvents(), Secret: secret}); err != nil {
			t.Fatal(err)
		}
	} else {
		client, err := datacenter.New("sandbox-dc-admin-token", bitbucket.WithBaseURL(l.sb.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateWebhook(t.Context(), "PLAT", "infra", datacenter.CreateWebhookRequest{
			Name: "orbit", URL: url, Active: true, Events: datacenter.RequiredEvents(), Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	return str(created, "id")
}

// bind creates a stack bound to infra of the integration.
func (l *loop) bind(name, integrationID, namespace string, extra ...any) string {
	l.t.Helper()
	id := newStack(l.t, l.c, name, "root")
	l.c.must(http.MethodPost, bindingPath(id), with(bindingBody(integrationID, namespace, "infra"), extra...), http.StatusCreated)
	l.stacks[name] = id
	return id
}

// fire sends an event through the sandbox and checks every attempt was acknowledged.
func (l *loop) fire(ev sandbox.Event) []sandbox.Delivery {
	l.t.Helper()
	deliveries, err := l.sb.Fire(l.t.Context(), ev)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(deliveries) == 0 {
		l.t.Fatalf("%s %s: no delivery", ev.Product, ev.Event)
	}
	for _, d := range deliveries {
		if d.Status != http.StatusAccepted {
			l.t.Fatalf("%s %s delivery: %d %s %s", ev.Product, ev.Event, d.Status, d.ResponseBody, d.Error)
		}
	}
	return deliveries
}

// apiRun is a run as the API answers it.
type apiRun = apiwire.Run

func (l *loop) runs(commit string) []apiRun {
	l.t.Helper()
	var list struct {
		Items []apiRun `json:"items"`
	}
	status, body := l.c.do(http.MethodGet, "/api/v1/runs?commit="+commit, nil)
	if status != http.StatusOK {
		l.t.Fatalf("list runs: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &list); err != nil {
		l.t.Fatal(err)
	}
	return list.Items
}

// eventually polls cond until it holds (processing is asynchronous).
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var state string
	if !testwait.Until(90*time.Second, func() bool {
		var ok bool
		ok, state = cond()
		return ok
	}) {
		t.Fatalf("%s did not happen; last seen: %s", what, state)
	}
}

func (l *loop) waitRuns(commit string, n int) []apiRun {
	l.t.Helper()
	var runs []apiRun
	eventually(l.t, fmt.Sprintf("%d run(s) of %s", n, commit), func() (bool, string) {
		runs = l.runs(commit)
		return len(runs) == n, fmt.Sprintf("%+v", runs)
	})
	return runs
}

// statusesOf returns key -> state of the sandbox's statuses on commit.
func (l *loop) statusesOf(product, commit string) map[string]string {
	out := map[string]string{}
	for _, st := range l.sb.Statuses() {
		if st.Product == product && (st.Commit == commit || strings.HasPrefix(st.Commit, commit) || strings.HasPrefix(commit, st.Commit)) {
			out[st.Key] = st.State
		}
	}
	return out
}

func (l *loop) waitStatuses(product, commit string, want map[string]string) {
	l.t.Helper()
	eventually(l.t, fmt.Sprintf("%s statuses %v on %s", product, want, commit), func() (bool, string) {
		got := l.statusesOf(product, commit)
		if len(got) != len(want) {
			return false, fmt.Sprint(got)
		}
		for k, v := range want {
			if got[k] != v {
				return false, fmt.Sprint(got)
			}
		}
		return true, ""
	})
}

func (l *loop) finish(runID, result string) {
	l.t.Helper()
	l.c.must(http.MethodPost, "/api/v1/runs/"+runID+"/result", map[string]any{"result": result, "message": "from the test"}, http.StatusOK)
}

// hash makes a commit id whose first 12 digits (what Cloud pull request payloads carry)
// differ for each seed.
func hash(seed int) string { return fmt.Sprintf("%012x%028x", 0xc0ffee000+seed, seed) }

func stackKey(id string) string { return "orbit/" + id }

// TestLoopSignedDeliveriesBecomeRunsAndStatuses: for each vcs_checks mode and both
// products, a push and a pull request fired by the sandbox become runs, the runs
// become INPROGRESS statuses, and reported results become final statuses.
func TestLoopSignedDeliveriesBecomeRunsAndStatuses(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"individual", "aggregated", "all"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := newLoop(t, mode)
			products := []struct {
				product, integration, namespace string
				push, prOpened                  sandbox.Event
				canceled                        string
			}{
				{"cloud", l.cloud, "acme",
					sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push"},
					sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created"}, "STOPPED"},
				{"datacenter", l.dc, "PLAT",
					sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed"},
					sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "pr:opened"}, "CANCELLED"},
			}
			for i, p := range products {
				net := l.bind(p.product+"-net", p.integration, p.namespace)
				app := l.bind(p.product+"-app", p.integration, p.namespace)
				l.bind(p.product+"-no-prs", p.integration, p.namespace, "pull_request_runs", false)
				l.bind(p.product+"-release", p.integration, p.namespace, "branch", "release")

				// A push to main: a tracked run for each of the three stacks on main.
				head := hash(100 + i)
				p.push.Branch, p.push.Commits = "main", []sandbox.Commit{{Hash: head, Message: "change"}}
				l.fire(p.push)
				runs := l.waitRuns(head, 3)
				for _, r := range runs {
					if r.Kind != "tracked" || r.Branch != "main" || r.State != "queued" || r.Result != nil || r.PullRequest != nil || r.DeliveryID == nil {
						t.Fatalf("%s push run: %+v", p.product, r)
					}
				}
				want := map[string]string{}
				if mode != "aggregated" {
					for _, r := range runs {
						want[stackKey(r.StackID)] = "INPROGRESS"
					}
				}
				if mode != "individual" {
					want["orbit/tracked"] = "INPROGRESS"
				}
				l.waitStatuses(p.product, head, want)

				// Results: one fails, so the aggregate fails; one is canceled.
				results := map[string]string{net: "succeeded", app: "failed", l.stacks[p.product+"-no-prs"]: "canceled"}
				finalState := map[string]string{"succeeded": "SUCCESSFUL", "failed": "FAILED", "canceled": p.canceled}
				for _, r := range runs {
					l.finish(r.ID, results[r.StackID])
					if mode != "aggregated" {
						want[stackKey(r.StackID)] = finalState[results[r.StackID]]
					}
				}
				if mode != "individual" {
					want["orbit/tracked"] = "FAILED"
				}
				l.waitStatuses(p.product, head, want)

				// A pull request: a proposed run for each stack with pull_request_runs.
				source := hash(200 + i)
				p.prOpened.PullRequest = &sandbox.PullRequest{ID: 5, SourceBranch: "feature", SourceCommit: source}
				l.fire(p.prOpened)
				prCommit := source
				if p.product == "cloud" {
					prCommit = source[:12] // Cloud pull request payloads carry 12 hex digits
				}
				prRuns := l.waitRuns(prCommit, 3)
				var got []string
				for _, r := range prRuns {
					if r.Kind != "proposed" || r.PullRequest == nil || *r.PullRequest != 5 || r.Branch != "feature" {
						t.Fatalf("%s PR run: %+v", p.product, r)
					}
					got = append(got, r.StackID)
					l.finish(r.ID, "succeeded")
				}
				slices.Sort(got)
				wantStacks := []string{net, app, l.stacks[p.product+"-release"]}
				slices.Sort(wantStacks)
				if !slices.Equal(got, wantStacks) {
					t.Fatalf("%s PR runs for %v, want %v", p.product, got, wantStacks)
				}
				prWant := map[string]string{}
				if mode != "aggregated" {
					for _, s := range got {
						prWant[stackKey(s)] = "SUCCESSFUL"
					}
				}
				if mode != "individual" {
					prWant["orbit/proposed"] = "SUCCESSFUL"
				}
				l.waitStatuses(p.product, prRuns[0].Commit, prWant)
			}
		})
	}
}
