package orbitapi

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// RootSpaceID is the space that always exists; default integrations live there.
const RootSpaceID = apiwire.RootSpaceID

type (
	// Space is a node of the space tree.
	Space = apiwire.Space
	// SpaceRequest is the body of create and of update (a full replacement).
	SpaceRequest = apiwire.SpaceRequest
)

// SpacesService manages /spaces.
type SpacesService struct{ client *Client }

func (s *SpacesService) Create(ctx context.Context, in SpaceRequest) (*Space, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Space
	if err := s.client.do(ctx, request{method: "POST", path: "/spaces", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *SpacesService) Get(ctx context.Context, id string) (*Space, error) {
	var out Space
	if err := s.client.do(ctx, request{method: "GET", path: "/spaces/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *SpacesService) Update(ctx context.Context, id string, in SpaceRequest) (*Space, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Space
	if err := s.client.do(ctx, request{method: "PUT", path: "/spaces/" + pathEscape(id), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *SpacesService) Delete(ctx context.Context, id string) error {
	return s.client.do(ctx, request{method: "DELETE", path: "/spaces/" + pathEscape(id)}, nil)
}

// List returns one page and the token of the next one ("" on the last page).
func (s *SpacesService) List(ctx context.Context, opts ListOptions) ([]Space, string, error) {
	return listPage[Space](ctx, s.client, "/spaces", opts.values())
}

// ListAll returns every space matching opts, following pages.
func (s *SpacesService) ListAll(ctx context.Context, opts ListOptions) ([]Space, error) {
	return listAll[Space](ctx, s.client, "/spaces", opts.values())
}
