// Command demoloop is the last act of `make demo`: with orbit-server and the Bitbucket
// sandbox running and examples/quickstart applied, it binds a stack to a repository of
// each integration, fires a push and a pull request through the sandbox to the
// server's real receiver, prints the runs they started, reports a result for each run
// and prints the commit statuses the sandbox then holds.
//
//	go run ./scripts/demoloop --orbit URL --sandbox URL   (ORBIT_API_KEY in the environment)
//
// It uses only net/http: the demo needs nothing but Go on the machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

func main() {
	orbitURL := flag.String("orbit", os.Getenv("ORBIT_ENDPOINT"), "orbit-server base URL")
	sandboxURL := flag.String("sandbox", "", "Bitbucket sandbox base URL")
	flag.Parse()
	d := &demo{orbit: strings.TrimRight(*orbitURL, "/"), sandbox: strings.TrimRight(*sandboxURL, "/"), key: os.Getenv("ORBIT_API_KEY")}
	if d.orbit == "" || d.sandbox == "" || d.key == "" {
		fmt.Fprintln(os.Stderr, "demoloop: --orbit, --sandbox and ORBIT_API_KEY are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demoloop:", err)
		os.Exit(1)
	}
}

type demo struct {
	orbit, sandbox, key string
	stacks              []string
}

// run is a run as the API answers it.
type run = apiwire.Run

type status struct {
	Product    string `json:"product"`
	Namespace  string `json:"namespace"`
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Key        string `json:"key"`
	State      string `json:"state"`
}

// product is one integration and the events the demo fires for it.
type product struct {
	name, integration, namespace string
	push, pullRequest            map[string]any
	pushCommit, prCommit         string
}

func (d *demo) run(ctx context.Context) error {
	var integrations apiwire.Page[apiwire.Integration]
	if err := d.call(ctx, d.orbit, http.MethodGet, "/api/v1/integrations", nil, http.StatusOK, &integrations); err != nil {
		return err
	}
	byProvider := map[string]string{}
	checks, spaces := map[string]string{}, map[string]string{}
	for _, in := range integrations.Items {
		byProvider[in.Provider] = in.ID
		checks[in.Provider] = in.VCSChecks
		spaces[in.ID] = in.SpaceID
	}
	cloudPush, cloudPR := commitID(1), commitID(2)
	dcPush, dcPR := commitID(3), commitID(4)
	products := []product{
		{name: "cloud", integration: byProvider["bitbucket_cloud"], namespace: "acme",
			push: map[string]any{"product": "cloud", "workspace": "acme", "repository": "infra", "event": "repo:push",
				"branch": "main", "commits": []any{map[string]any{"hash": cloudPush, "message": "Widen the VPC"}}},
			pullRequest: map[string]any{"product": "cloud", "workspace": "acme", "repository": "infra", "event": "pullrequest:created",
				"pull_request": map[string]any{"id": 1, "title": "Add a NAT gateway", "source_branch": "nat", "source_commit": cloudPR}},
			pushCommit: cloudPush, prCommit: cloudPR[:12]}, // Cloud pull request payloads carry 12 hex digits
		{name: "datacenter", integration: byProvider["bitbucket_datacenter"], namespace: "PLAT",
			push: map[string]any{"product": "datacenter", "project": "PLAT", "repository": "infra", "event": "repo:refs_changed",
				"branch": "main", "commits": []any{map[string]any{"hash": dcPush, "message": "Rotate the certificates"}}},
			pullRequest: map[string]any{"product": "datacenter", "project": "PLAT", "repository": "infra", "event": "pr:opened",
				"pull_request": map[string]any{"id": 1, "title": "Bump the module", "source_branch": "bump", "source_commit": dcPR}},
			pushCommit: dcPush, prCommit: dcPR},
	}
	defer d.cleanup()
	for _, p := range products {
		if p.integration == "" {
			return fmt.Errorf("no %s integration: was examples/quickstart applied?", p.name)
		}
		var stack apiwire.Stack
		// In the integration's space, where the integration is visible to the stack.
		newStack := apiwire.StackRequest{Name: p.name + "-infra", SpaceID: spaces[p.integration], Labels: []string{}}
		if err := d.call(ctx, d.orbit, http.MethodPost, "/api/v1/stacks", newStack, http.StatusCreated, &stack); err != nil {
			return err
		}
		d.stacks = append(d.stacks, stack.ID)
		binding := apiwire.StackVCSBindingRequest{IntegrationID: p.integration, Namespace: p.namespace, Repository: "infra", Branch: "main", PullRequestRuns: new(true)}
		if err := d.call(ctx, d.orbit, http.MethodPost, "/api/v1/stacks/"+stack.ID+"/vcs-binding", binding, http.StatusCreated, nil); err != nil {
			return err
		}
		fmt.Printf("stack %s bound to %s/infra (branch main) through the %s integration (vcs_checks %s)\n",
			stack.ID, p.namespace, p.name, checks["bitbucket_"+p.name])
	}

	fmt.Println("\n-- firing a push and a pull request through the sandbox (signed deliveries to orbit-server's receiver)")
	for _, p := range products {
		for _, ev := range []map[string]any{p.push, p.pullRequest} {
			var fired struct {
				Deliveries []struct {
					Event, URL, ResponseBody string
					Status                   int
					Attempt                  int
				} `json:"deliveries"`
			}
			if err := d.call(ctx, d.sandbox, http.MethodPost, "/_sandbox/events", ev, http.StatusOK, &fired); err != nil {
				return err
			}
			for _, dl := range fired.Deliveries {
				fmt.Printf("%-10s %-20s -> %s  %d %s\n", p.name, dl.Event, dl.URL, dl.Status, strings.TrimSpace(dl.ResponseBody))
				if dl.Status/100 != 2 {
					return fmt.Errorf("the receiver refused the %s delivery", dl.Event)
				}
			}
		}
	}

	fmt.Println("\n-- runs started by the deliveries")
	var runs []run
	for _, p := range products {
		for _, commit := range []string{p.pushCommit, p.prCommit} {
			rs, err := d.waitRuns(ctx, commit)
			if err != nil {
				return err
			}
			runs = append(runs, rs...)
		}
	}
	printRuns(runs)
	if err := d.printStatuses(ctx, runs, false); err != nil {
		return err
	}

	fmt.Println("\n-- reporting results: tracked runs succeeded, proposed runs failed")
	for i, r := range runs {
		result := "succeeded"
		if r.Kind == "proposed" {
			result = "failed"
		}
		body := apiwire.RunResultRequest{Result: result, Message: "reported by make demo"}
		if err := d.call(ctx, d.orbit, http.MethodPost, "/api/v1/runs/"+r.ID+"/result", body, http.StatusOK, &runs[i]); err != nil {
			return err
		}
	}
	printRuns(runs)
	return d.printStatuses(ctx, runs, true)
}

// waitRuns polls until the deliveries of commit were processed into runs.
func (d *demo) waitRuns(ctx context.Context, commit string) ([]run, error) {
	for {
		var list apiwire.Page[run]
		if err := d.call(ctx, d.orbit, http.MethodGet, "/api/v1/runs?commit="+commit, nil, http.StatusOK, &list); err != nil {
			return nil, err
		}
		if len(list.Items) > 0 {
			return list.Items, nil
		}
		if err := sleep(ctx); err != nil {
			return nil, fmt.Errorf("no run for commit %s: %w", commit, err)
		}
	}
}

// printStatuses waits until the sandbox holds a status of every run's commit in the
// expected phase (INPROGRESS, or final) and prints them.
func (d *demo) printStatuses(ctx context.Context, runs []run, final bool) error {
	commits := map[string]bool{}
	for _, r := range runs {
		commits[r.Commit] = true
	}
	for {
		var all struct {
			Cloud      []status `json:"cloud"`
			DataCenter []status `json:"datacenter"`
		}
		if err := d.call(ctx, d.sandbox, http.MethodGet, "/_sandbox/statuses", nil, http.StatusOK, &all); err != nil {
			return err
		}
		var ours []status
		seen := map[string]bool{}
		for _, st := range append(all.Cloud, all.DataCenter...) {
			// Cloud pull request runs carry the 12-digit hash of the payload; the
			// sandbox files the status under the full commit id.
			for commit := range commits {
				if strings.HasPrefix(st.Commit, commit) {
					ours = append(ours, st)
					seen[commit] = true
				}
			}
		}
		ready := len(ours) > 0
		for _, st := range ours {
			if (st.State == "INPROGRESS") == final {
				ready = false
			}
		}
		if ready && len(seen) == len(commits) {
			sort.Slice(ours, func(i, j int) bool {
				return ours[i].Product+ours[i].Commit+ours[i].Key < ours[j].Product+ours[j].Commit+ours[j].Key
			})
			fmt.Println("\n-- commit statuses the Bitbucket sandbox now holds")
			fmt.Printf("%-10s %-12s %-42s %-36s %s\n", "PRODUCT", "REPOSITORY", "COMMIT", "KEY", "STATE")
			for _, st := range ours {
				fmt.Printf("%-10s %-12s %-42s %-36s %s\n", st.Product, st.Namespace+"/"+st.Repository, st.Commit, st.Key, st.State)
			}
			return nil
		}
		if err := sleep(ctx); err != nil {
			return fmt.Errorf("statuses did not arrive: %w", err)
		}
	}
}

func printRuns(runs []run) {
	fmt.Printf("%-26s %-28s %-9s %-42s %-6s %-4s %-9s %s\n", "RUN", "STACK", "KIND", "COMMIT", "BRANCH", "PR", "STATE", "RESULT")
	for _, r := range runs {
		pr, result := "-", "-"
		if r.PullRequest != nil {
			pr = fmt.Sprint(*r.PullRequest)
		}
		if r.Result != nil {
			result = *r.Result
		}
		fmt.Printf("%-26s %-28s %-9s %-42s %-6s %-4s %-9s %s\n", r.ID, r.StackID, r.Kind, r.Commit, r.Branch, pr, r.State, result)
		if r.StatusError != "" {
			fmt.Printf("    status not posted: %s\n", r.StatusError)
		}
	}
}

// cleanup deletes the demo's stacks, so that terraform destroy finds what it made.
func (d *demo) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range d.stacks {
		if err := d.call(ctx, d.orbit, http.MethodDelete, "/api/v1/stacks/"+id, nil, http.StatusNoContent, nil); err != nil {
			fmt.Fprintln(os.Stderr, "demoloop: cleanup:", err)
		}
	}
}

func (d *demo) call(ctx context.Context, base, method, path string, body any, want int, out any) error {
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if base == d.orbit {
		req.Header.Set("Authorization", "Bearer "+d.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func sleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return errors.New("timed out")
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// commitID makes a distinct 40-hex commit id per demo event.
func commitID(n int) string {
	return fmt.Sprintf("%04x%08x%028x", n, time.Now().Unix(), n)
}
