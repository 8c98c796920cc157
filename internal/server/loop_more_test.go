package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// deliveryOutcome waits until the delivery a sandbox attempt created is processed and
// returns what dispatch recorded on it.
func (l *loop) deliveryOutcome(d sandbox.Delivery) string {
	l.t.Helper()
	var ans struct {
		DeliveryID string `json:"delivery_id"`
	}
	if err := json.Unmarshal([]byte(d.ResponseBody), &ans); err != nil || ans.DeliveryID == "" {
		l.t.Fatalf("delivery answer %q: %v", d.ResponseBody, err)
	}
	return waitProcessed(l.t, l.inst, ans.DeliveryID).Outcome
}

// hookID is the id of the product's only hook on the sandbox.
func (l *loop) hookID(product string) string {
	l.t.Helper()
	for _, h := range l.sb.Hooks() {
		if h.Product == product {
			return h.ID
		}
	}
	l.t.Fatalf("no %s hook", product)
	return ""
}

func (l *loop) stackRuns(stackID string) []apiRun {
	l.t.Helper()
	var list struct {
		Items []apiRun `json:"items"`
	}
	if err := json.Unmarshal(mustBody(l.c, "/api/v1/stacks/"+stackID+"/runs"), &list); err != nil {
		l.t.Fatal(err)
	}
	return list.Items
}

func mustBody(c *client, path string) []byte {
	c.t.Helper()
	status, body := c.do(http.MethodGet, path, nil)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// TestLoopEventsThatStartNothing: pull request edits that do not move the source,
// merges, declines, approvals and comments start no run (merges and declines end the
// pull request's queued runs instead: TestLoopClosedPullRequestEndsItsRuns); a Cloud
// update that moves the source, and DC's from_ref_updated, start proposed runs.
// startsNothing is what the outcome of an event that starts no run says.
func startsNothing(event string) string {
	switch event {
	case "pullrequest:fulfilled", "pullrequest:rejected", "pr:merged", "pr:declined", "pr:deleted":
		return "its proposed runs not finished are canceled"
	}
	return "recorded, no run"
}

func TestLoopEventsThatStartNothing(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	cloudStack := l.bind("cloud-stack", l.cloud, "acme")
	dcStack := l.bind("dc-stack", l.dc, "PLAT")
	pr := func(id int, commit string) *sandbox.PullRequest {
		return &sandbox.PullRequest{ID: id, SourceBranch: "feature", SourceCommit: commit, Title: "t"}
	}
	cloudEv := func(event string, p *sandbox.PullRequest) sandbox.Event {
		return sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: event, PullRequest: p}
	}
	dcEv := func(event string, p *sandbox.PullRequest) sandbox.Event {
		return sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: event, PullRequest: p}
	}

	first, moved := hash(1), hash(2)
	l.fire(cloudEv("pullrequest:created", pr(9, first)))
	l.waitRuns(first[:12], 1)
	// Cloud names the source commit by 12 digits; the full hash finds the run too.
	if runs := l.runs(first); len(runs) != 1 || runs[0].Commit != first[:12] {
		t.Errorf("runs?commit=<full hash> of a Cloud pull request: %+v, want its one proposed run", runs)
	}
	// Title or reviewers changed: same source commit, nothing new.
	if out := l.deliveryOutcome(l.fire(cloudEv("pullrequest:updated", pr(9, first)))[0]); !strings.Contains(out, "unchanged") {
		t.Errorf("cloud update without a new commit: %q", out)
	}
	// New commits on the source branch: a proposed run.
	l.fire(cloudEv("pullrequest:updated", pr(9, moved)))
	l.waitRuns(moved[:12], 1)
	for _, event := range []string{"pullrequest:approved", "pullrequest:unapproved", "pullrequest:comment_created", "pullrequest:fulfilled", "pullrequest:rejected"} {
		ev := cloudEv(event, pr(9, moved))
		ev.Hook = l.hookID("cloud")
		if out := l.deliveryOutcome(l.fire(ev)[0]); !strings.Contains(out, startsNothing(event)) || !strings.Contains(out, event) {
			t.Errorf("%s: outcome %q", event, out)
		}
	}
	if runs := l.stackRuns(cloudStack); len(runs) != 2 {
		t.Errorf("cloud stack has %d runs, want 2: %+v", len(runs), runs)
	}

	dcFirst, dcMoved := hash(3), hash(4)
	l.fire(dcEv("pr:opened", pr(4, dcFirst)))
	l.waitRuns(dcFirst, 1)
	for _, event := range []string{"pr:modified", "pr:reviewer:approved", "pr:reviewer:unapproved", "pr:comment:added", "pr:merged", "pr:declined"} {
		ev := dcEv(event, pr(4, dcFirst))
		ev.Hook = l.hookID("datacenter")
		if out := l.deliveryOutcome(l.fire(ev)[0]); !strings.Contains(out, startsNothing(event)) {
			t.Errorf("%s: outcome %q", event, out)
		}
	}
	moves := pr(4, dcMoved)
	moves.PreviousSourceCommit = dcFirst
	l.fire(dcEv("pr:from_ref_updated", moves))
	l.waitRuns(dcMoved, 1)
	if runs := l.stackRuns(dcStack); len(runs) != 2 {
		t.Errorf("dc stack has %d runs, want 2: %+v", len(runs), runs)
	}
}

// TestLoopPushesThatStartNothing: tags, deleted branches, other branches and detached
// stacks start nothing (signed deliveries sent as Bitbucket would).
func TestLoopPushesThatStartNothing(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	l.bind("cloud-stack", l.cloud, "acme")
	l.bind("dc-stack", l.dc, "PLAT")
	hooks := map[string]hookTarget{}
	for _, h := range l.sb.Hooks() {
		provider := "bitbucket_cloud"
		if h.Product == "datacenter" {
			provider = "bitbucket_datacenter"
		}
		hooks[h.Product] = hookTarget{provider: provider, url: h.URL, secret: h.Secret}
	}
	cases := []struct {
		product, event, body, want string
	}{
		{"cloud", "repo:push", `{"repository":{"full_name":"acme/infra"},"push":{"changes":[{"new":{"type":"tag","name":"v1","target":{"hash":"` + hash(10) + `"}},"old":null}]}}`, "ignored tag v1"},
		{"cloud", "repo:push", `{"repository":{"full_name":"acme/infra"},"push":{"changes":[{"new":null,"old":{"type":"branch","name":"main","target":{"hash":"` + hash(11) + `"}},"closed":true}]}}`, "ignored branch main deleted"},
		{"cloud", "repo:push", `{"repository":{"full_name":"acme/infra"},"push":{"changes":[{"new":{"type":"branch","name":"other","target":{"hash":"` + hash(12) + `"}},"old":null}]}}`, "no bound stack concerned"},
		{"cloud", "repo:push", `{"repository":{"full_name":"acme/elsewhere"},"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"` + hash(13) + `"}},"old":null}]}}`, "no attached stack"},
		{"datacenter", "repo:refs_changed", `{"repository":{"slug":"infra","project":{"key":"PLAT"}},"changes":[{"ref":{"id":"refs/tags/v1","type":"TAG"},"refId":"refs/tags/v1","toHash":"` + hash(14) + `","type":"ADD"}]}`, "ignored refs/tags/v1"},
		{"datacenter", "repo:refs_changed", `{"repository":{"slug":"infra","project":{"key":"PLAT"}},"changes":[{"ref":{"id":"refs/heads/main","type":"BRANCH"},"refId":"refs/heads/main","toHash":"0000000000000000000000000000000000000000","type":"DELETE"}]}`, "refs/heads/main deleted"},
	}
	for i, tc := range cases {
		h := hooks[tc.product]
		status, body := h.send(t, delivery{body: tc.body, event: tc.event, requestID: "nothing-" + string(rune('a'+i)), signWith: h.secret})
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", tc.want, status, body)
		}
		if out := l.deliveryOutcome(sandbox.Delivery{ResponseBody: body}); !strings.Contains(out, tc.want) {
			t.Errorf("outcome %q, want it to mention %q", out, tc.want)
		}
	}
	for _, s := range l.stacks {
		if runs := l.stackRuns(s); len(runs) != 0 {
			t.Errorf("runs started: %+v", runs)
		}
	}

	// Detached: the integration is deleted and recreated under the same name (same
	// URL, new secret, set on the hook); the old binding stays detached and gets nothing.
	l.c.must(http.MethodDelete, "/api/v1/integrations/"+l.cloud, nil, http.StatusNoContent)
	recreated := l.c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud-individual", "root", "sandbox-cloud-admin-token"), http.StatusCreated)
	h := hooks["cloud"]
	h.secret = str(recreated, "webhook_secret")
	push := h.push("after-recreate")
	status, body := h.send(t, push)
	if status != http.StatusAccepted {
		t.Fatalf("after recreate: %d %s", status, body)
	}
	if out := l.deliveryOutcome(sandbox.Delivery{ResponseBody: body}); !strings.Contains(out, "no attached stack") {
		t.Errorf("detached stack: outcome %q", out)
	}
	if runs := l.stackRuns(l.stacks["cloud-stack"]); len(runs) != 0 {
		t.Errorf("detached stack got runs: %+v", runs)
	}
	l.c.wantError(http.MethodPost, "/api/v1/stacks/"+l.stacks["cloud-stack"]+"/trigger", nil, http.StatusConflict, "conflict", "")
}

// TestLoopRestartMidProcessing: the delivery is acknowledged, then the server stops
// before processing it; a second server claims its job and dies before finishing; the
// third one processes it. The run and its status appear once.
func TestLoopRestartMidProcessing(t *testing.T) {
	t.Parallel()
	paused := servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true })
	l := newLoop(t, "individual", paused)
	stack := l.bind("net", l.dc, "PLAT")
	head := hash(50)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed",
		Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})
	first := l.inst
	first.Stop(t)

	restart := func(opts ...servertest.Option) *servertest.Instance {
		return servertest.Start(t, append([]servertest.Option{
			servertest.WithDatabase(first.DBPath, first.SecretKey, first.AdminKey),
			servertest.WithConfig(func(c *server.Config) { c.BitbucketCloudAPIURL = l.sb.URL }),
		}, opts...)...)
	}
	second := restart(paused)
	claimed, err := second.Server.Store().ClaimJobs(t.Context(), store.JobDelivery, 10, 1) // a 1ns lease: the worker "dies" at once
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	second.Stop(t)

	third := restart()
	l.inst, l.c = third, newClient(t, third, third.AdminKey)
	runs := l.waitRuns(head, 1)
	if runs[0].StackID != stack {
		t.Fatalf("run %+v", runs[0])
	}
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "INPROGRESS"})
	// Nothing more comes: the queue is empty and one run exists.
	eventually(t, "an empty queue", func() (bool, string) {
		n := tableCount(t, third, "jobs")
		return n == 0, "jobs left"
	})
	if runs := l.runs(head); len(runs) != 1 {
		t.Fatalf("runs after restart: %+v", runs)
	}
	posts := 0
	for _, r := range l.sb.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Path, "/commits/"+head+"/builds") {
			posts++
		}
	}
	if posts != 1 {
		t.Fatalf("%d status posts for the one run", posts)
	}
}

// TestLoopStatusFailures: a refusal for good is recorded on the run with Bitbucket's
// message and not retried; a private:// host without an agent waits; 5xx answers are retried
// from the queue until the status lands.
func TestLoopStatusFailures(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	// A token without read:repository:bitbucket, which posting a status needs (the
	// Cloud description's x-atlassian-oauth2-scopes; a "read" token posts statuses).
	if err := l.sb.Seed(sandbox.Seed{Cloud: sandbox.CloudSeed{Users: []sandbox.CloudUser{{Email: "dev@example.com",
		APITokens: []sandbox.CloudAPIToken{{Token: "no-repository-token", Scopes: []string{"read:user:bitbucket", "read:pullrequest:bitbucket"}}}}}}}); err != nil {
		t.Fatal(err)
	}
	readOnly := l.integration(with(cloudBody("cloud-read-only", "root", "no-repository-token"), "vcs_checks", "individual"))
	newPool(t, l.c, "pool-1", "root")
	private := l.integration(with(dcBody("dc-private", "root", "t"),
		"api_host", "private://pool-1", "user_facing_host", "https://bitbucket.example.com"))
	refused := l.bind("refused", readOnly, "acme")
	retried := l.bind("retried", l.dc, "PLAT")
	unreachable := newStack(t, l.c, "unreachable", "root")
	l.c.must(http.MethodPost, bindingPath(unreachable), bindingBody(private, "PLAT", "infra"), http.StatusCreated)

	// Cloud with a token lacking the scope: 403 on the status, recorded, not retried.
	head := hash(60)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})
	eventually(t, "the refusal recorded", func() (bool, string) {
		runs := l.runs(head)
		return len(runs) == 1 && strings.Contains(runs[0].StatusError, "403"), "runs " + string(mustBody(l.c, "/api/v1/runs?commit="+head))
	})
	if runs := l.runs(head); runs[0].StackID != refused {
		t.Fatalf("run %+v", runs[0])
	}
	eventually(t, "an empty queue after a refusal for good", func() (bool, string) {
		return tableCount(t, l.inst, "jobs") == 0, "jobs left"
	})

	// Data Center answers 503 twice, then takes the status.
	l.sb.AddFault(sandbox.Fault{Status: 503, Count: 2, PathPrefix: "/rest/api/latest/projects/PLAT/repos/infra/commits", Method: http.MethodPost})
	dcHead := hash(61)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "main", Commits: []sandbox.Commit{{Hash: dcHead}}})
	l.waitStatuses("datacenter", dcHead, map[string]string{stackKey(retried): "INPROGRESS"})
	// The private:// host has no agent connected: its status waits in the queue,
	// with no error on the run (TestVCSAgentEndToEnd shows it landing later).
	eventually(t, "the private:// status waiting", func() (bool, string) {
		return metricFloat(t, l.c, `orbit_status_posts_total{outcome="waiting",product="bitbucket_datacenter"}`) >= 1, "not yet"
	})
	var waiting struct {
		Items []apiRun `json:"items"`
	}
	_ = json.Unmarshal(mustBody(l.c, "/api/v1/stacks/"+unreachable+"/runs"), &waiting)
	if len(waiting.Items) != 1 || waiting.Items[0].StatusError != "" {
		t.Fatalf("the waiting run: %+v", waiting.Items)
	}
	for _, r := range l.runs(dcHead) {
		if r.StackID == retried && r.StatusError != "" {
			t.Errorf("retried run keeps an error: %+v", r)
		}
	}
}

// TestLoopManualTrigger: a manual run is tracked, on the newest head orbit has
// received for the binding's branch, has no delivery, and gets its status.
func TestLoopManualTrigger(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "aggregated")
	stack := l.bind("net", l.cloud, "acme")
	head := hash(70)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})
	pushed := l.waitRuns(head, 1)
	l.finish(pushed[0].ID, "succeeded")
	l.waitStatuses("cloud", head, map[string]string{"orbit/tracked": "SUCCESSFUL"})

	var manual apiRun
	status, body := l.c.do(http.MethodPost, "/api/v1/stacks/"+stack+"/trigger", nil)
	if status != http.StatusAccepted || json.Unmarshal(body, &manual) != nil {
		t.Fatalf("trigger: %d %s", status, body)
	}
	if manual.Kind != "tracked" || manual.Commit != head || manual.Branch != "main" || manual.DeliveryID != nil || manual.State != "queued" {
		t.Fatalf("manual run %+v", manual)
	}
	// The aggregate goes back to INPROGRESS while the manual run is queued.
	l.waitStatuses("cloud", head, map[string]string{"orbit/tracked": "INPROGRESS"})
	l.finish(manual.ID, "succeeded")
	l.waitStatuses("cloud", head, map[string]string{"orbit/tracked": "SUCCESSFUL"})
	l.c.wantError(http.MethodPost, "/api/v1/runs/"+manual.ID+"/result", map[string]any{"result": "failed"}, http.StatusConflict, "conflict", "result")
	l.c.wantError(http.MethodPost, "/api/v1/runs/"+manual.ID+"/result", map[string]any{"result": "done"}, http.StatusBadRequest, "invalid_argument", "result")
	l.c.wantError(http.MethodGet, "/api/v1/runs/no-such-run", nil, http.StatusNotFound, "not_found", "")
	l.c.wantError(http.MethodGet, "/api/v1/runs", nil, http.StatusBadRequest, "invalid_argument", "commit")
	// A key that cannot read the stack's space sees no runs.
	other := l.inst.NewSpace(t, "elsewhere", "root", false)
	stranger := l.c.as(l.inst.NewKey(t, "stranger", servertest.Read(other)))
	var list struct {
		Items []apiRun `json:"items"`
	}
	if err := json.Unmarshal(mustBody(stranger, "/api/v1/runs?commit="+head), &list); err != nil || len(list.Items) != 0 {
		t.Fatalf("stranger sees %+v (%v)", list.Items, err)
	}
	stranger.wantError(http.MethodGet, "/api/v1/runs/"+manual.ID, nil, http.StatusNotFound, "not_found", "")
}
