package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// chromiumPath finds the browser where scripts/ensure-chromium.sh looks:
// $ORBIT_CHROMIUM, then chromium and chromium-browser on PATH. Without one the
// test fails (it never skips silently); under -short it may skip, saying so.
func chromiumPath(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser"}
	if p := os.Getenv("ORBIT_CHROMIUM"); p != "" {
		names = []string{p} // LookPath checks that a path is an executable
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "headless Chromium not found ($ORBIT_CHROMIUM, chromium, chromium-browser): run scripts/ensure-chromium.sh"
	if testing.Short() {
		t.Skip(msg + " (skipped under -short only)")
	}
	t.Fatal(msg)
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, phone-sized.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(412, 915),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// Bounds every browser step: a hung browser fails the test instead of CI.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(text)
}

// TestBrowserRunPage: a push in the sandbox starts a run whose commit status
// links to the run's page; headless Chromium opens the link taken from the
// sandbox's statuses without an API key and sees state, commit, trigger and the
// pusher; a runner's start and then its result, reported through the API, show
// after reloads with their times; a tampered link is 404; a pull request's page
// shows its number, title (escaped) and author. Screenshots go to the test's
// temporary directory ($ORBIT_BROWSER_ARTIFACTS keeps them).
func TestBrowserRunPage(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	l := newLoop(t, "individual")
	stack := l.bind("web", l.cloud, "acme")
	head := hash(900)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Branch: "main", Commits: []sandbox.Commit{{Hash: head, Message: "change"}}})
	runs := l.waitRuns(head, 1)
	link := statusLink(t, l, stack, head)

	resp, err := chromedp.Run(browser, chromedp.NavigateResponse(link))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d", link, resp.Status)
	}
	// The inline style sheet applies: the CSP names its hash, and nothing else.
	radius, err := chromedp.Run(browser, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("state")).borderRadius`))
	if err != nil || radius != "16px" {
		t.Errorf("the page's style sheet did not apply (border-radius %q, %v): is its hash in the CSP?", radius, err)
	}
	for h, want := range map[string]string{"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"} {
		if got := fmt.Sprint(resp.Headers[h]); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q in it", h, got, want)
		}
	}
	if got := pageText(t, browser, "#state"); got != "queued" {
		t.Errorf("state %q, want queued", got)
	}
	if got := pageText(t, browser, "#commit"); got != head {
		t.Errorf("commit %q, want %s", got, head)
	}
	if got := pageText(t, browser, "#trigger"); !strings.Contains(got, "push to main") || !strings.Contains(got, "repo:push") {
		t.Errorf("trigger %q, want a push to main (repo:push)", got)
	}
	// The pusher, as the sandbox's push payload names its Cloud user.
	if got := pageText(t, browser, "#triggered-by"); got != "Dev Eloper (dev)" {
		t.Errorf("triggered by %q, want the pusher Dev Eloper (dev)", got)
	}

	// A runner reports it started: running, with its time in the history.
	l.c.must(http.MethodPost, "/api/v1/runs/"+runs[0].ID+"/start", nil, http.StatusOK)
	if _, err := chromedp.Run(browser, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := pageText(t, browser, "#state"); got != "running" {
		t.Errorf("after the start, state %q, want running", got)
	}
	if got := pageText(t, browser, "#history li:nth-child(2)"); !strings.HasPrefix(got, "running ") || !strings.Contains(got, " UTC") {
		t.Errorf("history's second step %q, want running with its time", got)
	}

	l.c.must(http.MethodPost, "/api/v1/runs/"+runs[0].ID+"/result",
		map[string]any{"result": "succeeded", "message": "plan: 1 to add"}, http.StatusOK)
	if _, err := chromedp.Run(browser, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := pageText(t, browser, "#state"); got != "succeeded" {
		t.Errorf("after the result, state %q, want succeeded", got)
	}
	if got := pageText(t, browser, "#message"); got != "plan: 1 to add" {
		t.Errorf("message %q", got)
	}
	if got := pageText(t, browser, "#history li:nth-child(3)"); !strings.HasPrefix(got, "succeeded ") || !strings.Contains(got, "finished") {
		t.Errorf("history's third step %q, want succeeded (finished) with its time", got)
	}
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if keep := os.Getenv("ORBIT_BROWSER_ARTIFACTS"); keep != "" {
		dir = keep // kept after the test, for a person to look at
	}
	path := filepath.Join(dir, "run-page.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	// One character changed: the same plain 404 as a page that never existed.
	last := link[len(link)-1]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	tampered := link[:len(link)-1] + string(swap)
	resp, err = chromedp.Run(browser, chromedp.NavigateResponse(tampered))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusNotFound {
		t.Fatalf("tampered link: %d, want 404", resp.Status)
	}
	if got := pageText(t, browser, "body"); strings.Contains(got, runs[0].ID) || strings.Contains(got, "run") {
		t.Errorf("the 404 says more than nothing: %q", got)
	}

	// A pull request: its status's link shows the number, the title (as text, not
	// markup) and its author.
	source := hash(902)
	title := `Add the VPC <b>now</b> & “subnets”`
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created",
		PullRequest: &sandbox.PullRequest{ID: 42, Title: title, SourceBranch: "feature", SourceCommit: source}})
	l.waitRuns(source[:12], 1)
	prLink := statusLink(t, l, stack, source)
	if resp, err := chromedp.Run(browser, chromedp.NavigateResponse(prLink)); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %v %v", prLink, resp, err)
	}
	if got := pageText(t, browser, "#trigger"); !strings.Contains(got, "pull request #42 “"+title+"” from feature") ||
		!strings.Contains(got, "pullrequest:created") {
		t.Errorf("trigger %q, want pull request #42 with its title", got)
	}
	if bold, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("#trigger b").length`)); err != nil || bold != 0 {
		t.Errorf("the title's markup became elements (%d <b>, %v)", bold, err)
	}
	if got := pageText(t, browser, "#triggered-by"); got != "Dev Eloper (dev)" {
		t.Errorf("triggered by %q, want the pull request's author Dev Eloper (dev)", got)
	}
	shot, err = chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "run-page-pull-request.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// statusLink waits for the commit status of stack's run on commit (a Cloud pull
// request's status is on its 12-digit hash) in the sandbox and returns its link,
// a run page of the server.
func statusLink(t *testing.T, l *loop, stack, commit string) string {
	t.Helper()
	var link string
	eventually(t, "the run's commit status in the sandbox", func() (bool, string) {
		for _, st := range l.sb.Statuses() {
			if st.Product == "cloud" && (st.Commit == commit || st.Commit == commit[:12]) && st.Key == stackKey(stack) {
				link = st.URL
				return true, ""
			}
		}
		return false, fmt.Sprint(l.sb.Statuses())
	})
	if !strings.HasPrefix(link, l.inst.PublicURL+"/run-pages/") {
		t.Fatalf("status link %q is not a run page of %s", link, l.inst.PublicURL)
	}
	return link
}
