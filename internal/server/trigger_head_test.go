package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// TestTriggerAfterLateBindingAsksBitbucket: a stack bound after the last push (orbit
// received none) is triggered on the branch head Bitbucket names, read through the
// integration's kind, and the run says so; a branch Bitbucket does not have is a 409
// naming namespace/repository/branch; a Bitbucket answering 503 is a 503 to retry,
// and the same trigger succeeds once it answers again. Both products, against the
// sandbox, every request checked against Atlassian's descriptions.
func TestTriggerAfterLateBindingAsksBitbucket(t *testing.T) {
	t.Parallel()
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
	inst := servertest.Start(t, servertest.WithCredentialChecker(&server.BitbucketChecker{
		CloudBaseURL:  ts.URL,
		TLSConfig:     ts.Client().Transport.(*http.Transport).TLSClientConfig,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return contract.RoundTripper(t, rt) },
	}))
	space := inst.NewSpace(t, "platform", "root", false)

	for _, tc := range []struct {
		product, namespace, repo, event, faultPath string
		integration                                map[string]any
	}{
		{"cloud", "acme", "app", "repo:push", "/2.0/repositories/acme/app/refs/branches",
			cloudBody("cloud-late", space, sbCloudToken)},
		{"datacenter", "PLAT", "infra", "repo:refs_changed", "/rest/api/latest/projects/PLAT/repos/infra/branches",
			with(dcBody("dc-late", space, sbDCToken), "api_host", ts.URL)},
	} {
		t.Run(tc.product, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			in := c.must(http.MethodPost, "/api/v1/integrations", tc.integration, http.StatusCreated)
			push := func(branch string, hash byte) string {
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
			bound := func(name, branch string) string {
				st := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": space}, http.StatusCreated)
				c.must(http.MethodPost, "/api/v1/stacks/"+str(st, "id")+"/vcs-binding", map[string]any{"integration_id": str(in, "id"),
					"namespace": tc.namespace, "repository": tc.repo, "branch": branch}, http.StatusCreated)
				return str(st, "id")
			}

			// Pushed before the binding existed: orbit heard nothing, Bitbucket knows the head.
			head := push("main", 'a')
			run := c.must(http.MethodPost, "/api/v1/stacks/"+bound(tc.product+"-late", "main")+"/trigger", nil, http.StatusAccepted)
			if str(run, "commit") != head || str(run, "branch") != "main" || !strings.Contains(str(run, "message"), "branch head from Bitbucket") {
				t.Fatalf("trigger after a late binding: %v", run)
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
			sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 100, PathPrefix: tc.faultPath})
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
