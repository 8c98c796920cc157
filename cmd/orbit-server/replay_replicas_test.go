package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/loadgen"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
)

// TestTwoReplicasReplayedAtOnce: the same signed body sent at the same moment to
// two replicas on one PostgreSQL database, under two request ids (a replay racing
// the original), is stored once: one 202 and one 200 "duplicate", one run, one
// commit status.
func TestTwoReplicasReplayedAtOnce(t *testing.T) {
	t.Parallel()
	db := e2e.Database{Engine: "postgres", Arg: pgtest.Start(t).NewDatabase(t)}
	sb, err := e2e.StartSandbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	keys, err := e2e.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	replicas := startTogether(t, func() *e2e.Server { return startServer(t, db, sb, keys, "") })
	api := e2e.API{URL: replicas[0].URL, Key: keys.AdminKey}
	in, err := api.CloudIntegration(t.Context(), "replayed", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := api.Stack(t.Context(), "infra")
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Bind(t.Context(), stack, in.ID, "acme", "infra", "main"); err != nil {
		t.Fatal(err)
	}
	const bodies = 20
	send := func(url, requestID string, body []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-Event-Key", "repo:push")
		req.Header.Set("X-Request-UUID", requestID)
		req.Header.Set("X-Hub-Signature", loadgen.Sign([]byte(in.WebhookSecret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	commits := make([]string, bodies)
	for i := range bodies {
		commits[i] = fmt.Sprintf("%040x", 0xbadc0de00+i)
		body := loadgen.CloudPush("acme/infra", "main", commits[i])
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, len(replicas))
		answers := make([]string, len(replicas))
		for r, srv := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[r], answers[r] = send(srv.URL+"/webhooks/bitbucket-cloud/"+in.Name, fmt.Sprintf("replica-%d-%d", r, i), body)
			}()
		}
		close(start)
		wg.Wait()
		accepted, duplicate := 0, 0
		for r := range replicas {
			switch {
			case codes[r] == http.StatusAccepted:
				accepted++
			case codes[r] == http.StatusOK && strings.Contains(answers[r], `"duplicate"`):
				duplicate++
			default:
				t.Fatalf("body %d to replica %d: %d %s", i, r, codes[r], answers[r])
			}
		}
		if accepted != 1 || duplicate != 1 {
			t.Fatalf("body %d: %d accepted, %d duplicates; want 1 and 1", i, accepted, duplicate)
		}
	}
	counts := waitDrained(t, db, bodies)
	if counts.Deliveries != bodies || counts.Runs != bodies {
		t.Fatalf("%+v; want %d deliveries and runs", counts, bodies)
	}
	posts := map[string]int{}
	for _, r := range sb.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/statuses/build") {
			posts[r.Path]++
		}
	}
	for _, commit := range commits {
		if n := posts["/2.0/repositories/acme/infra/commit/"+commit+"/statuses/build"]; n != 1 {
			t.Errorf("commit %s: %d status posts, want 1", commit, n)
		}
	}
}
