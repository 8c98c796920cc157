package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// TestTriggerAfterLateBindingAsksBitbucket: a stack bound after the last push (orbit
// received none) is triggered on the branch head Bitbucket names, read through the
// integration's kind, and the run says so; a branch Bitbucket does not have is a 409
// naming namespace/repository/branch; a Bitbucket answering 503 is a 503 to retry,
// and the same trigger succeeds once it answers again. Both products, against the
// sandbox, every request checked against Atlassian's descriptions.
func TestTriggerAfterLateBindingAsksBitbucket(t *testing.T) {
	t.Parallel()
	inst, sb, sandboxURL := startRefServer(t)
	space := inst.NewSpace(t, "platform", "root", false)

	for _, tc := range refCases(space, sandboxURL) {
		t.Run(tc.product, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			in := c.must(http.MethodPost, "/api/v1/integrations", tc.integration, http.StatusCreated)
			push := func(branch string, hash byte) string { return tc.push(t, sb, branch, hash) }
			bound := func(name, branch string) string {
				st := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": space}, http.StatusCreated)
				c.must(http.MethodPost, "/api/v1/stacks/"+str(st, "id")+"/vcs-binding", map[string]any{"integration_id": str(in, "id"),
					"namespace": tc.namespace, "repository": tc.repo, "branch": branch}, http.StatusCreated)
				return str(st, "id")
			}

			// Pushed before the binding existed: orbit heard nothing, Bitbucket knows the head.
			head := push("main", 'a')
			run := c.must(http.MethodPost, "/api/v1/stacks/"+bound(tc.product+"-late", "main")+"/trigger", nil, http.StatusAccepted)
			if str(run, "commit") != head || str(run, "branch") != "main" || !strings.Contains(str(run, "trigger_reason"), "branch head from Bitbucket") {
				t.Fatalf("trigger after a late binding: %v", run)
			}
			page := str(c.must(http.MethodGet, "/api/v1/runs/"+str(run, "id"), nil, http.StatusOK), "page_url")
			status, html := c.do(http.MethodGet, strings.TrimPrefix(page, inst.URL), nil)
			if status != http.StatusOK || !strings.Contains(string(html), "manual trigger (through the API) on the head of main (branch head from Bitbucket") {
				t.Errorf("the run's page does not say where its commit came from: %d %s", status, html)
			}

			// A branch Bitbucket does not have: refused, naming it.
			msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+bound(tc.product+"-nope", "nope")+"/trigger", nil, http.StatusConflict, "conflict", "branch")
			for _, want := range []string{`"nope"`, tc.namespace + "/" + tc.repo} {
				if !strings.Contains(msg, want) {
					t.Errorf("missing branch: message %q lacks %q", msg, want)
				}
			}

			// Bitbucket answering 503 (past the check's retries): a 503 to retry, no run.
			devHead := push("dev", 'b')
			dev := bound(tc.product+"-dev", "dev")
			sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 100, PathPrefix: tc.repoPath + "/"})
			msg = c.wantError(http.MethodPost, "/api/v1/stacks/"+dev+"/trigger", nil, http.StatusServiceUnavailable, "unavailable", "")
			if !strings.Contains(msg, `"dev"`) || !strings.Contains(msg, "try again") {
				t.Errorf("unreachable: message %q", msg)
			}
			if runs := c.must(http.MethodGet, "/api/v1/stacks/"+dev+"/runs", nil, http.StatusOK); len(runs["items"].([]any)) != 0 {
				t.Errorf("a refused trigger left runs: %v", runs)
			}
			sb.ClearFaults()
			if run := c.must(http.MethodPost, "/api/v1/stacks/"+dev+"/trigger", nil, http.StatusAccepted); str(run, "commit") != devHead {
				t.Errorf("trigger once Bitbucket answers: %v", run)
			}
		})
	}
}

// startRefServer runs orbit-server with the real BitbucketChecker pointed at a TLS
// sandbox holding the Cloud repository acme/app and the Data Center repository
// PLAT/infra; every request the checker sends is checked against Atlassian's
// descriptions.
func startRefServer(t *testing.T) (*servertest.Instance, *sandbox.Server, string) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{})
	if err := sb.Seed(sandbox.Seed{
		Cloud: sandbox.CloudSeed{
			Users: []sandbox.CloudUser{{Email: "dev@example.com", DisplayName: "Dev",
				APITokens: []sandbox.CloudAPIToken{{Token: sbCloudToken, Scopes: []string{"admin"}}}}},
			Workspaces:   []sandbox.CloudWorkspace{{Slug: "acme"}},
			Repositories: []sandbox.CloudRepository{{Workspace: "acme", Slug: "app"}},
		},
		DataCenter: sandbox.DataCenterSeed{
			Users:        []sandbox.DataCenterUser{{Name: "orbit-bot", Tokens: []sandbox.DataCenterToken{{Token: sbDCToken, Permission: "PROJECT_ADMIN", Project: "PLAT"}}}},
			Projects:     []sandbox.DataCenterProject{{Key: "PLAT"}},
			Repositories: []sandbox.DataCenterRepository{{Project: "PLAT", Slug: "infra"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(sb)
	t.Cleanup(ts.Close)
	return servertest.Start(t, servertest.WithCredentialChecker(&server.BitbucketChecker{
		CloudBaseURL:  ts.URL,
		TLSConfig:     ts.Client().Transport.(*http.Transport).TLSClientConfig,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return contract.RoundTripper(t, rt) },
	})), sb, ts.URL
}

// refCases are the two products of the tests on startRefServer.
func refCases(space, sandboxURL string) []refCase {
	return []refCase{
		{"cloud", "acme", "app", "repo:push", "/2.0/repositories/acme/app", cloudBody("cloud-late", space, sbCloudToken)},
		{"datacenter", "PLAT", "infra", "repo:refs_changed", "/rest/api/latest/projects/PLAT/repos/infra",
			with(dcBody("dc-late", space, sbDCToken), "api_host", sandboxURL)},
	}
}

type refCase struct {
	product, namespace, repo, event, repoPath string
	integration                               map[string]any
}

// push fires a push of one commit (hash repeated) to branch in the sandbox and
// returns the commit.
func (tc refCase) push(t *testing.T, sb *sandbox.Server, branch string, hash byte) string {
	t.Helper()
	h := strings.Repeat(string(hash), 40)
	ev := sandbox.Event{Product: tc.product, Repository: tc.repo, Event: tc.event, Branch: branch, Commits: []sandbox.Commit{{Hash: h}}}
	if tc.product == "cloud" {
		ev.Workspace = tc.namespace
	} else {
		ev.Project = tc.namespace
	}
	if _, err := sb.Fire(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBindingChecksRepositoryInBitbucket: a binding create or update asks Bitbucket,
// through the integration's kind and credential, whether the repository exists: a
// missing one is a 400 on repository naming namespace/repository (and an update
// leaves the stored binding as it was); a Bitbucket answering 503 is a 503 to retry,
// nothing stored. Both products, against the sandbox.
func TestBindingChecksRepositoryInBitbucket(t *testing.T) {
	t.Parallel()
	inst, sb, sandboxURL := startRefServer(t)
	space := inst.NewSpace(t, "platform", "root", false)
	for _, tc := range refCases(space, sandboxURL) {
		t.Run(tc.product, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			in := c.must(http.MethodPost, "/api/v1/integrations", tc.integration, http.StatusCreated)
			body := func(repo string) map[string]any {
				return map[string]any{"integration_id": str(in, "id"), "namespace": tc.namespace, "repository": repo}
			}
			st := str(c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": tc.product + "-bind", "space_id": space}, http.StatusCreated), "id")
			path := "/api/v1/stacks/" + st + "/vcs-binding"

			msg := c.wantError(http.MethodPost, path, body("nope"), http.StatusBadRequest, "invalid_argument", "repository")
			if !strings.Contains(msg, tc.namespace+"/nope") {
				t.Errorf("create to a missing repository: message %q does not name %s/nope", msg, tc.namespace)
			}
			c.wantError(http.MethodGet, path, nil, http.StatusNotFound, "not_found", "")

			bound := c.must(http.MethodPost, path, body(tc.repo), http.StatusCreated)
			msg = c.ifMatch(str(bound, "version")).wantError(http.MethodPut, path, body("nope"), http.StatusBadRequest, "invalid_argument", "repository")
			if !strings.Contains(msg, tc.namespace+"/nope") {
				t.Errorf("update to a missing repository: message %q", msg)
			}
			if got := c.must(http.MethodGet, path, nil, http.StatusOK); str(got, "repository") != tc.repo || str(got, "version") != str(bound, "version") {
				t.Errorf("a refused update changed the binding: %v", got)
			}

			c.must(http.MethodDelete, path, nil, http.StatusNoContent)
			sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 100, PathPrefix: tc.repoPath})
			msg = c.wantError(http.MethodPost, path, body(tc.repo), http.StatusServiceUnavailable, "unavailable", "")
			if !strings.Contains(msg, tc.namespace+"/"+tc.repo) || !strings.Contains(msg, "try again") {
				t.Errorf("unreachable: message %q", msg)
			}
			c.wantError(http.MethodGet, path, nil, http.StatusNotFound, "not_found", "")
			sb.ClearFaults()
			c.must(http.MethodPost, path, body(tc.repo), http.StatusCreated)
		})
	}
}

// refPush is a signed push delivery of the ref server's repository: commit to
// branch, or (commit "") the branch's deletion from old, as each product sends it
// (Cloud new: null; Data Center a DELETE change to the zero hash).
func (tc refCase) refPush(branch, old, commit string) string {
	const zero = "0000000000000000000000000000000000000000"
	if tc.product == "cloud" {
		change := `{"new":{"type":"branch","name":"` + branch + `","target":{"hash":"` + commit + `"}},"old":null}`
		if commit == "" {
			change = `{"new":null,"old":{"type":"branch","name":"` + branch + `","target":{"hash":"` + old + `"}},"closed":true}`
		}
		return `{"repository":{"full_name":"` + tc.namespace + "/" + tc.repo + `"},"push":{"changes":[` + change + `]}}`
	}
	change := `"fromHash":"` + zero + `","toHash":"` + commit + `","type":"ADD"`
	if commit == "" {
		change = `"fromHash":"` + old + `","toHash":"` + zero + `","type":"DELETE"`
	}
	return `{"eventKey":"repo:refs_changed","repository":{"slug":"` + tc.repo + `","project":{"key":"` + tc.namespace + `"}},` +
		`"changes":[{"ref":{"id":"refs/heads/` + branch + `","displayId":"` + branch + `","type":"BRANCH"},"refId":"refs/heads/` + branch + `",` + change + `}]}`
}

// TestTriggerOfDeletedBranchIsRefused: orbit received a push to a branch and then
// its deletion (Cloud new: null, DC a DELETE change): the deletion starts nothing,
// and a manual trigger, which asks Bitbucket through the integration's credential
// whatever orbit heard, is refused with a 409 naming namespace/repository/branch
// instead of running the last commit orbit heard of. Both products, against the
// sandbox (which has no such branch).
func TestTriggerOfDeletedBranchIsRefused(t *testing.T) {
	t.Parallel()
	inst, _, sandboxURL := startRefServer(t)
	space := inst.NewSpace(t, "platform", "root", false)
	for _, tc := range refCases(space, sandboxURL) {
		t.Run(tc.product, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			in := c.must(http.MethodPost, "/api/v1/integrations", tc.integration, http.StatusCreated)
			hook := hookTarget{provider: str(in, "provider"), url: str(in, "webhook_url"), secret: str(in, "webhook_secret")}
			st := str(c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": tc.product + "-gone", "space_id": space}, http.StatusCreated), "id")
			c.must(http.MethodPost, "/api/v1/stacks/"+st+"/vcs-binding", map[string]any{"integration_id": str(in, "id"),
				"namespace": tc.namespace, "repository": tc.repo, "branch": "feature"}, http.StatusCreated)

			head := strings.Repeat("f", 40)
			send := func(id, body string) store.Delivery {
				status, answer := hook.send(t, delivery{body: body, event: tc.event, requestID: tc.product + "-" + id, signWith: hook.secret})
				var ans struct {
					DeliveryID string `json:"delivery_id"`
				}
				if status != http.StatusAccepted || json.Unmarshal([]byte(answer), &ans) != nil {
					t.Fatalf("delivery %s: %d %s", id, status, answer)
				}
				return waitProcessed(t, inst, ans.DeliveryID)
			}
			if d := send("push", tc.refPush("feature", "", head)); d.Decision != store.DecisionRunsStarted {
				t.Fatalf("push to feature: %s %s", d.Decision, d.Outcome)
			}
			if d := send("delete", tc.refPush("feature", head, "")); d.Decision != store.DecisionEventIgnored || !strings.Contains(d.Outcome, "deleted") {
				t.Errorf("deletion of feature: %s %q, want event_ignored naming the deletion", d.Decision, d.Outcome)
			}
			if runs := c.must(http.MethodGet, "/api/v1/stacks/"+st+"/runs", nil, http.StatusOK); len(runs["items"].([]any)) != 1 {
				t.Fatalf("runs after a push and a deletion: %v", runs)
			}

			msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+st+"/trigger", nil, http.StatusConflict, "conflict", "branch")
			for _, want := range []string{`"feature"`, tc.namespace + "/" + tc.repo} {
				if !strings.Contains(msg, want) {
					t.Errorf("trigger of a deleted branch: message %q lacks %q", msg, want)
				}
			}
			if runs := c.must(http.MethodGet, "/api/v1/stacks/"+st+"/runs", nil, http.StatusOK); len(runs["items"].([]any)) != 1 {
				t.Errorf("a refused trigger started a run: %v", runs)
			}
		})
	}
}

// TestTriggerIdempotencyKey: a trigger is a create; the same Idempotency-Key twice
// starts one run and answers the first answer again, byte for byte (marked
// replayed); the key with another stack is a 422; a new key starts a second run.
func TestTriggerIdempotencyKey(t *testing.T) {
	t.Parallel()
	inst, sb, sandboxURL := startRefServer(t)
	space := inst.NewSpace(t, "platform", "root", false)
	tc := refCases(space, sandboxURL)[0]
	c := newClient(t, inst, inst.AdminKey)
	in := c.must(http.MethodPost, "/api/v1/integrations", tc.integration, http.StatusCreated)
	tc.push(t, sb, "main", 'c')
	stack := func(name string) string {
		st := str(c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": space}, http.StatusCreated), "id")
		c.must(http.MethodPost, "/api/v1/stacks/"+st+"/vcs-binding", map[string]any{"integration_id": str(in, "id"),
			"namespace": tc.namespace, "repository": tc.repo}, http.StatusCreated)
		return st
	}
	st, other := stack("once"), stack("other")
	keyed := c.withIdempotencyKey("trigger-once")
	status, first := keyed.do(http.MethodPost, "/api/v1/stacks/"+st+"/trigger", nil)
	if status != http.StatusAccepted {
		t.Fatalf("first trigger: %d %s", status, first)
	}
	status, again := keyed.do(http.MethodPost, "/api/v1/stacks/"+st+"/trigger", nil)
	if status != http.StatusAccepted || string(again) != string(first) {
		t.Fatalf("repeat: %d %s, want 202 and the first answer %s", status, again, first)
	}
	if runs := c.must(http.MethodGet, "/api/v1/stacks/"+st+"/runs", nil, http.StatusOK); len(runs["items"].([]any)) != 1 {
		t.Errorf("two triggers with one Idempotency-Key started %d runs", len(runs["items"].([]any)))
	}
	keyed.wantError(http.MethodPost, "/api/v1/stacks/"+other+"/trigger", nil, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	c.withIdempotencyKey("trigger-twice").must(http.MethodPost, "/api/v1/stacks/"+st+"/trigger", nil, http.StatusAccepted)
	if runs := c.must(http.MethodGet, "/api/v1/stacks/"+st+"/runs", nil, http.StatusOK); len(runs["items"].([]any)) != 2 {
		t.Errorf("a trigger with a new key: %d runs, want 2", len(runs["items"].([]any)))
	}
}
