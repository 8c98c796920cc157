package runpage

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string

	pageTemplate = template.Must(template.New("run").Parse(pageHTML))
	// contentSecurityPolicy allows the one inline style sheet (by its hash) and
	// nothing else: no script, image, font, frame, form or connection.
	contentSecurityPolicy = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()
)

// setHeaders sets the headers of every answer of a page, found or not.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Robots-Tag", "noindex, nofollow, noarchive")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

type historyStep struct {
	State, At, ISO, Detail string
}

type deliveryView struct {
	ID, EventKey, RequestID, Signature, Outcome, RedeliveryOf string
	At, ISO                                                   string
}

// view is what the page shows. It holds nothing secret: names, ids, the commit,
// times, the runner's message and what the delivery log says.
type view struct {
	Title, RunID, Kind, StateClass, StateLabel, Message, StatusError string
	StackName, StackID, SpaceName, SpaceID                           string
	Trigger, TriggerURL, TriggeredBy                                 string
	Repository, RepositoryURL, Branch, BranchURL, Commit, CommitURL  string
	Integration                                                      string
	History                                                          []historyStep
	Delivery                                                         *deliveryView
	CSS                                                              template.CSS
}

func formatAt(t time.Time) (string, string) {
	t = t.UTC()
	return t.Format("2006-01-02 15:04:05 UTC"), t.Format(time.RFC3339)
}

// Render writes run's page. Objects the run refers to that are gone (a deleted
// integration or delivery) are left out, not an error.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, run store.Run) error {
	v, err := p.build(r.Context(), run)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return err
	}
	setHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func ignoreMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (p *Pages) build(ctx context.Context, run store.Run) (view, error) {
	v := view{RunID: run.ID, Kind: string(run.Kind), Message: run.Message, StatusError: run.StatusError,
		StackID: run.StackID, Repository: run.Namespace + "/" + run.Repository, Branch: run.Branch, Commit: run.Commit,
		CSS: template.CSS(pageCSS)} //nolint:gosec // the style sheet is the package's own file
	v.StateClass, v.StateLabel = string(run.State), string(run.State)
	if run.State == store.RunFinished && run.Result != "" {
		v.StateClass, v.StateLabel = string(run.Result), string(run.Result)
	}
	st, err := p.store.GetStack(ctx, run.StackID)
	if err != nil {
		return v, err
	}
	v.StackName, v.SpaceID, v.SpaceName = st.Name, st.SpaceID, st.SpaceID
	if sp, err := p.store.GetSpace(ctx, st.SpaceID); err == nil {
		v.SpaceName = sp.Name
	} else if err := ignoreMissing(err); err != nil {
		return v, err
	}
	v.Title = fmt.Sprintf("%s: %s run %s", st.Name, run.Kind, v.StateLabel)

	in, err := p.store.GetIntegration(ctx, run.IntegrationID)
	switch {
	case err == nil:
		v.Integration = in.Name + " (" + string(in.Provider) + ")"
		if kind, err := vcs.Lookup(in.Provider); err == nil {
			ref := store.StackBinding{Provider: in.Provider, Namespace: run.Namespace, Repository: run.Repository,
				Host: in.UserFacingHost}
			v.RepositoryURL = kind.RepositoryURL(ref)
			if links, ok := kind.(vcs.LinkBuilder); ok {
				v.BranchURL = links.BranchURL(ref, run.Branch)
				v.CommitURL = links.CommitURL(ref, run.Commit)
				if run.PullRequest > 0 {
					v.TriggerURL = links.PullRequestURL(ref, run.PullRequest)
				}
			}
		}
	case errors.Is(err, store.ErrNotFound):
		v.Integration = run.IntegrationID + " (deleted)"
	default:
		return v, err
	}

	switch {
	case run.DeliveryID == "":
		v.Trigger = "manual trigger (through the API) on the head of " + run.Branch
		if run.TriggerReason != "" {
			v.Trigger += " (" + run.TriggerReason + ")"
		}
	case run.PullRequest > 0 && run.PullRequestTitle != "":
		v.Trigger = fmt.Sprintf("pull request #%d “%s” from %s", run.PullRequest, run.PullRequestTitle, run.Branch)
	case run.PullRequest > 0:
		v.Trigger = fmt.Sprintf("pull request #%d from %s", run.PullRequest, run.Branch)
	default:
		v.Trigger = "push to " + run.Branch
	}
	v.TriggeredBy = run.TriggeredBy
	v.History = history(run)

	if run.DeliveryID != "" {
		d, err := p.store.GetDelivery(ctx, run.DeliveryID)
		switch {
		case err == nil:
			at, iso := formatAt(d.ReceivedAt)
			dv := &deliveryView{ID: d.ID, EventKey: d.EventKey, RequestID: d.RequestID, Outcome: d.Outcome,
				RedeliveryOf: d.RedeliveryOf, At: at, ISO: iso, Signature: "verified with the current webhook secret"}
			if d.Secret == store.SecretPrevious {
				dv.Signature = "verified with the previous webhook secret (within the grace period after a rotation)"
			}
			if d.RedeliveryOf != "" {
				dv.Signature += "; redelivered by an API key"
			}
			v.Delivery = dv
			v.Trigger += " (" + d.EventKey + ")"
		case ignoreMissing(err) != nil:
			return v, err
		}
	}
	return v, nil
}

// history is every state the run went through, with its time: queued, running
// (when a runner reported it started), and its result once finished.
func history(run store.Run) []historyStep {
	step := func(state string, t time.Time, detail string) historyStep {
		at, iso := formatAt(t)
		return historyStep{State: state, At: at, ISO: iso, Detail: detail}
	}
	out := []historyStep{step(string(store.RunQueued), run.CreatedAt, "run recorded, commit status posted")}
	if !run.StartedAt.IsZero() {
		out = append(out, step(string(store.RunRunning), run.StartedAt, "a runner reported it started"))
	}
	if run.State == store.RunFinished {
		finished := run.FinishedAt
		if finished.IsZero() {
			finished = run.UpdatedAt // a run finished before finished_at was kept
		}
		out = append(out, step(string(run.Result), finished, "finished"))
	}
	return out
}
