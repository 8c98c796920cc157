package datacenter_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
)

const payloadDir = "../../../testdata/bitbucket/payloads/datacenter"

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
	const jane = "Jane Citizen (jcitizen)" // displayName (name); never the e-mail address
	pr := func(id int64, branch, commit, title string) *bitbucket.PullRequestRef {
		return &bitbucket.PullRequestRef{ID: id, SourceBranch: branch, SourceCommit: commit, DestinationBranch: "master",
			Title: title, Author: jane}
	}
	cases := []struct {
		file, event string
		want        bitbucket.WebhookEvent
	}{
		{"push.json", "repo:refs_changed", bitbucket.WebhookEvent{Kind: bitbucket.EventPush, Namespace: "PRJ", Repository: "my-repo", Actor: jane,
			Pushes: []bitbucket.BranchPush{{Branch: "master", Commit: "823b2230a56056231c9425d63758fa87078a66b4", Old: "5c64a07cd6c0f21b753bf261ef059c7e7633c50a"}}}},
		{"pr_open.json", "pr:opened", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestOpened, Namespace: "PRJ", Repository: "my-repo", Actor: jane,
			PullRequest: pr(2, "develop", "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e", "added LICENSE")}},
		{"pr_merged.json", "pr:merged", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestMerged, Namespace: "PRJ", Repository: "my-repo", Actor: jane,
			PullRequest: pr(3, "develop", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56", "Develop")}},
		{"pr_modified_meta.json", "pr:modified", bitbucket.WebhookEvent{Kind: bitbucket.EventPullRequestModified, Namespace: "PRJ", Repository: "my-repo", Actor: jane,
			PullRequest: pr(6, "cleanup", "a268fca7b65055e13f60ac1a2c9a527615f113ca", "Clean README.md")}},
	}
	for _, tc := range cases {
		got, err := datacenter.ParseWebhook(tc.event, readPayload(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		tc.want.Product, tc.want.Key = bitbucket.ProductDataCenter, tc.event
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s as %s:\n got %+v\nwant %+v", tc.file, tc.event, got, tc.want)
		}
	}
}

func TestParseWebhookRefChanges(t *testing.T) {
	t.Parallel()
	body := `{"repository":{"slug":"infra","project":{"key":"PLAT"}},"changes":[
		{"ref":{"id":"refs/heads/main","type":"BRANCH"},"refId":"refs/heads/main","fromHash":"cccccccccccccccccccccccccccccccccccccccc","toHash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","type":"UPDATE"},
		{"ref":{"id":"refs/heads/new","type":"BRANCH"},"refId":"refs/heads/new","fromHash":"0000000000000000000000000000000000000000","toHash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","type":"ADD"},
		{"ref":{"id":"refs/tags/v1","type":"TAG"},"refId":"refs/tags/v1","toHash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","type":"ADD"},
		{"ref":{"id":"refs/heads/gone","type":"BRANCH"},"refId":"refs/heads/gone","toHash":"0000000000000000000000000000000000000000","type":"DELETE"}]}`
	got, err := datacenter.ParseWebhook("repo:refs_changed", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	// A new branch comes from the all-zero hash: no old commit.
	want := []bitbucket.BranchPush{{Branch: "main", Commit: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Old: "cccccccccccccccccccccccccccccccccccccccc"},
		{Branch: "new", Commit: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
	if !reflect.DeepEqual(got.Pushes, want) || len(got.Skipped) != 2 {
		t.Fatalf("pushes %+v skipped %q", got.Pushes, got.Skipped)
	}
	ping, err := datacenter.ParseWebhook("diagnostics:ping", []byte(`{"test":true}`))
	if err != nil || ping.Kind != bitbucket.EventPing {
		t.Fatalf("ping: %+v %v", ping, err)
	}
	moved, err := datacenter.ParseWebhook("pr:from_ref_updated", []byte(`{"pullRequest":{"id":4,
		"fromRef":{"id":"refs/heads/f","latestCommit":"dddddddddddddddddddddddddddddddddddddddd"},
		"toRef":{"id":"refs/heads/main","repository":{"slug":"infra","project":{"key":"PLAT"}}}},
		"previousFromHash":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"}`))
	if err != nil || moved.Kind != bitbucket.EventPullRequestSourceMoved || moved.PullRequest.PreviousSourceCommit != "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" {
		t.Fatalf("from_ref_updated: %+v %v", moved, err)
	}
}

func TestParseWebhookRejectsShapelessBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ event, body string }{
		{"repo:refs_changed", ``},
		{"repo:refs_changed", `[]`},
		{"repo:refs_changed", `{"repository":{"slug":"infra"}}`},
		{"repo:refs_changed", `{"repository":{"slug":"infra","project":{"key":"PLAT"}}}`},
		{"repo:refs_changed", `{"repository":{"slug":"infra","project":{"key":"PLAT"}},"changes":[{"refId":"refs/heads/main","toHash":"xyz","type":"UPDATE"}]}`},
		{"pr:opened", `{"pullRequest":{"id":1}}`},
		{"pr:opened", `{"pullRequest":{"id":1,"fromRef":{"id":"refs/heads/f","latestCommit":"dddddddddddddddddddddddddddddddddddddddd"},"toRef":{"id":"refs/heads/main"}}}`},
		{"diagnostics:ping", `"test"`},
		{"pr:deleted", `{"actor":{"name":"admin"}}`},
		{"repo:modified", `{"old":{"slug":"infra","project":{"key":"PLAT"}}}`},
		{"repo:modified", `{"old":{"slug":"infra","project":{"key":"PLAT"}},"new":"infra-live"}`},
		// Malformed JSON is refused whatever the key.
		{"pr:reviewer:updated", `{"pullRequest":`},
		{"", `{"test":true}`},
	} {
		if _, err := datacenter.ParseWebhook(tc.event, []byte(tc.body)); err == nil {
			t.Errorf("%s %s: no error", tc.event, tc.body)
		}
	}
}

// FuzzParseWebhook: any body either parses into an event naming a repository (or a
// ping, or an ignored event with its reason), with well-formed pushes, pull request
// and rename, or is refused with a PayloadError.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"push.json", "pr_open.json", "pr_merged.json", "pr_modified_meta.json"} {
		f.Add("repo:refs_changed", readPayload(f, name))
		f.Add("pr:from_ref_updated", readPayload(f, name))
	}
	f.Add("diagnostics:ping", []byte(`{"test":true}`))
	f.Add("repo:modified", []byte(`{"old":{"slug":"a","project":{"key":"P"}},"new":{"slug":"b","project":{"key":"P"}}}`))
	f.Add("repo:secret_detected", []byte(`{"secretLocations":[{"repository":{"slug":"a","project":{"key":"P"}}}]}`))
	f.Add("pr:reviewer:updated", readPayload(f, "pr_merged.json"))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := datacenter.ParseWebhook(event, body)
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
	switch ev.Kind {
	case bitbucket.EventIgnored:
		if ev.Reason == "" {
			t.Fatal("ignored without a reason")
		}
		if ev.Repository != "" && ev.Namespace == "" {
			t.Fatalf("a repository without its project: %+v", ev)
		}
	case bitbucket.EventPing:
	default:
		if ev.Namespace == "" || ev.Repository == "" || ev.Reason != "" {
			t.Fatalf("%s parsed without a repository or with a reason: %+v", ev.Kind, ev)
		}
	}
	if r := ev.Rename; r != nil && (r.OldNamespace == "" || r.OldRepository == "" || r.NewNamespace == "" || r.NewRepository == "") {
		t.Fatalf("bad rename %+v", r)
	}
}
