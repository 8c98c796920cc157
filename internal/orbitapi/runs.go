package orbitapi

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// Run is one run of a stack (API.md, "Runs"); PageURL is set by RunsService.Get
// only.
type Run = apiwire.Run

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
