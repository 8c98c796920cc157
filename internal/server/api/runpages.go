package api

import (
	"context"
	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// RunPages is what the API needs of the run pages (package runpage, wired by the
// server root): the capability link of a run, and the page itself for API-key
// holders.
type RunPages interface {
	// Link is the capability link of run's page ("" when it was revoked).
	Link(ctx context.Context, run store.Run) (string, error)
	// StableURL is the page's URL for API-key holders.
	StableURL(runID string) string
	// Reissue replaces the link with a new one and returns it.
	Reissue(ctx context.Context, runID string) (string, error)
	// Revoke makes the link answer 404.
	Revoke(ctx context.Context, runID string) error
	// Render writes the page.
	Render(w http.ResponseWriter, r *http.Request, run store.Run) error
}

type runPageLinkResponse = apiwire.RunPageLink

// getRunPage is GET /runs/{id}/page: the run's HTML page, for API-key holders.
func (s *API) getRunPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleRead)
	if err != nil {
		return err
	}
	return s.runPages.Render(w, r, run)
}

// reissueRunPageLink is POST /runs/{id}/page-link: a new capability link; the old
// one answers 404 from now on. Commit statuses posted later carry the new one.
func (s *API) reissueRunPageLink(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleWrite)
	if err != nil {
		return err
	}
	link, err := s.runPages.Reissue(r.Context(), run.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runPageLinkResponse{RunID: run.ID, PageURL: s.runPages.StableURL(run.ID), PublicPageURL: &link})
	return nil
}

// revokeRunPageLink is DELETE /runs/{id}/page-link: the link answers 404, and
// commit statuses posted later link to the stable URL.
func (s *API) revokeRunPageLink(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleWrite)
	if err != nil {
		return err
	}
	if err := s.runPages.Revoke(r.Context(), run.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// withPageURLs adds the page's URLs to the answer about one run.
func (s *API) withPageURLs(ctx context.Context, run store.Run, resp *runResponse) error {
	resp.PageURL = s.runPages.StableURL(run.ID)
	link, err := s.runPages.Link(ctx, run)
	if err != nil {
		return err
	}
	if link != "" {
		resp.PublicPageURL = &link
	}
	return nil
}
