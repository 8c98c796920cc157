package cloud_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
)

const payloadDir = "../../../testdata/bitbucket/payloads/cloud"

func readPayload(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(payloadDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseWebhookRealPayloads: Bitbucket's own bodies give the repository, branch,
// commit and pull request orbit acts on.
func TestParseWebhookRealPayloads(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, event string
		want        bitbucket.WebhookEvent
	}{
		{"push.json", "repo:push", bitbucket.WebhookEvent{Kind: bitbucket.EventPush, Namespace: "brydzewski", Repository: "foo", Actor: "Brad Rydzewski (brydzewski)",
			Pushes: []bitbucket.BranchPush{{Branch: "master", Commit: "141977fedf5cf35aa290ac87d4b5177ac4cd9de1", Old: "40e7580cf11311d84a6e5e97e2cbba6df1675750"}}}},
		{"pr_created.json", "pullrequest:created", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestOpened, Namespace: "brydzewski", Repository: "foo",
			Actor: "Brad Rydzewski (brydzewski)",
			PullRequest: &bitbucket.PullRequestRef{ID: 1, SourceBranch: "develop", SourceCommit: "507a576e59b3", DestinationBranch: "master",
				Title: "Awesome new feature", Author: "Brad Rydzewski (brydzewski)"}}},
		{"pr_fulfilled.json", "pullrequest:fulfilled", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestMerged, Namespace: "brydzewski", Repository: "foo",
			Actor: "Brad Rydzewski (brydzewski)",
			PullRequest: &bitbucket.PullRequestRef{ID: 1, SourceBranch: "develop", SourceCommit: "0704fc5beccc", DestinationBranch: "master",
				Title: "Awesome new feature", Author: "Brad Rydzewski (brydzewski)"}}},
		{"pr_comment_created.json", "pullrequest:comment_created", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestComment,
			Namespace: "rutvijmehta-harness", Repository: "spring-cloud-alibaba", Actor: "Rutvij Mehta", // no username: current payloads
			PullRequest: &bitbucket.PullRequestRef{ID: 1, SourceBranch: "tiwhitepaper-rutvij", SourceCommit: "b9437f32dddd", DestinationBranch: "2021.x",
				Title: "Update pom.xml", Author: "Rutvij Mehta"}}},
		// The same push body under a key orbit does not act on is only recorded.
		{"push.json", "repo:commit_status_created", bitbucket.WebhookEvent{Kind: bitbucket.EventIgnored, Namespace: "brydzewski", Repository: "foo", Actor: "Brad Rydzewski (brydzewski)",
			Reason: "commit statuses (orbit's own among them) start no run"}},
	}
	for _, tc := range cases {
		got, err := cloud.ParseWebhook(tc.event, readPayload(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		tc.want.Product, tc.want.Key = bitbucket.ProductCloud, tc.event
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s as %s:\n got %+v\nwant %+v", tc.file, tc.event, got, tc.want)
		}
	}
}

func TestParseWebhookPushChanges(t *testing.T) {
	t.Parallel()
	body := `{"repository":{"full_name":"acme/infra"},"push":{"changes":[
		{"new":{"type":"branch","name":"main","target":{"hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},"old":null},
		{"new":{"type":"tag","name":"v1.0","target":{"hash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}},"old":null},
		{"new":null,"old":{"type":"branch","name":"gone","target":{"hash":"cccccccccccccccccccccccccccccccccccccccc"}},"closed":true}]}}`
	got, err := cloud.ParseWebhook("repo:push", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []bitbucket.BranchPush{{Branch: "main", Commit: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
	if !reflect.DeepEqual(got.Pushes, want) || len(got.Skipped) != 2 {
		t.Fatalf("pushes %+v skipped %q", got.Pushes, got.Skipped)
	}
}

func TestParseWebhookRejectsShapelessBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ event, body string }{
		{"repo:push", ``},
		{"repo:push", `null`},
		{"repo:push", `{"repository":{}}`},
		{"repo:push", `{"repository":{"full_name":"acme"}}`},
		{"repo:push", `{"repository":{"full_name":"acme/infra"}}`},
		{"repo:push", `{"repository":{"full_name":"acme/infra"},"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"nothex"}}}]}}`},
		{"pullrequest:created", `{"repository":{"full_name":"acme/infra"}}`},
		{"pullrequest:created", `{"repository":{"full_name":"acme/infra"},"pullrequest":{"id":0}}`},
		{"pullrequest:created", `{"repository":{"full_name":"acme/infra"},"pullrequest":{"id":3,"source":{"branch":{"name":"f"}},"destination":{"branch":{"name":"main"}}}}`},
		{"", `{"repository":{"full_name":"acme/infra"}}`},
		{"repo:updated", `{"repository":{"full_name":"acme/infra"},"changes":{"full_name":{"old":"acme","new":"acme/infra"}}}`},
		{"repo:updated", `{"changes":{}}`},
		// Malformed JSON is refused whatever the key.
		{"issue:created", `{"repository":`},
		{"project:updated", `[{"project":{}}]`},
	} {
		if _, err := cloud.ParseWebhook(tc.event, []byte(tc.body)); err == nil {
			t.Errorf("%s %s: no error", tc.event, tc.body)
		}
	}
}

// FuzzParseWebhook: any body either parses into an event naming a repository (an
// ignored one: a reason, and a repository only when it names one), with well-formed
// pushes, pull request and rename, or is refused with a PayloadError; never a panic.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"push.json", "pr_created.json", "pr_fulfilled.json", "pr_comment_created.json"} {
		f.Add("repo:push", readPayload(f, name))
		f.Add("pullrequest:updated", readPayload(f, name))
	}
	f.Add("repo:push", []byte(`{"repository":{"full_name":"a/b"},"push":{"changes":[]}}`))
	f.Add("repo:updated", []byte(`{"repository":{"full_name":"a/c"},"changes":{"full_name":{"old":"a/b","new":"a/c"}}}`))
	f.Add("issue:created", []byte(`{"repository":{"full_name":"a/b"},"issue":{"id":1}}`))
	f.Add("project:updated", []byte(`{"project":{"key":"P"}}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := cloud.ParseWebhook(event, body)
		if err != nil {
			if _, ok := err.(*bitbucket.PayloadError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		checkParsed(t, ev)
		for _, p := range ev.Pushes {
			if !bitbucket.ValidRefName(p.Branch) || !bitbucket.IsCommitHash(p.Commit) {
				t.Fatalf("bad push %+v", p)
			}
		}
		if pr := ev.PullRequest; pr != nil && (pr.ID <= 0 || !bitbucket.IsCommitHash(pr.SourceCommit)) {
			t.Fatalf("bad pull request %+v", pr)
		}
	})
}

// checkParsed holds a parsed event to what ParseWebhook promises.
func checkParsed(t *testing.T, ev bitbucket.WebhookEvent) {
	t.Helper()
	if ev.Kind == bitbucket.EventIgnored {
		if ev.Reason == "" {
			t.Fatal("ignored without a reason")
		}
		if (ev.Namespace == "") != (ev.Repository == "") {
			t.Fatalf("half a repository: %q/%q", ev.Namespace, ev.Repository)
		}
	} else if ev.Namespace == "" || ev.Repository == "" || ev.Reason != "" {
		t.Fatalf("%s parsed without a repository or with a reason: %+v", ev.Kind, ev)
	}
	if r := ev.Rename; r != nil && (r.OldNamespace == "" || r.OldRepository == "" || r.NewNamespace == "" || r.NewRepository == "") {
		t.Fatalf("bad rename %+v", r)
	}
}
