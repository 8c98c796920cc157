package orbitapi

import (
	"context"
	"time"
)

// Run is one run of a stack (API.md, "Runs").
type Run struct {
	ID          string  `json:"id"`
	StackID     string  `json:"stack_id"`
	Kind        string  `json:"kind"`
	Commit      string  `json:"commit"`
	Branch      string  `json:"branch"`
	PullRequest *int64  `json:"pull_request"`
	State       string  `json:"state"`
	Result      *string `json:"result"`
	Message     string  `json:"message"`
	// PageURL is the run's page for API-key holders; set by RunsService.Get only.
	PageURL   string    `json:"page_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RunsService reads /runs.
type RunsService struct{ client *Client }

// Get reads one run, with the link of its page.
func (s *RunsService) Get(ctx context.Context, id string) (*Run, error) {
	var out Run
	if err := s.client.do(ctx, request{method: "GET", path: "/runs/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Runs lists one page of a stack's runs, newest first.
func (s *StacksService) Runs(ctx context.Context, stackID string, opts ListOptions) ([]Run, string, error) {
	return listPage[Run](ctx, s.client, "/stacks/"+pathEscape(stackID)+"/runs", opts.values())
}
