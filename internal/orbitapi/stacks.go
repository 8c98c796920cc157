package orbitapi

import (
	"context"
	"time"
)

// Stack is an infrastructure-as-code stack; runs are records attached to it.
type Stack struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	SpaceID     string    `json:"space_id"`
	Description string    `json:"description"`
	Labels      []string  `json:"labels"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// StackRequest is the body of create and of update (a full replacement).
type StackRequest struct {
	Name        string   `json:"name"`
	SpaceID     string   `json:"space_id"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
}

// StacksService manages /stacks.
type StacksService struct{ client *Client }

func (s *StacksService) Create(ctx context.Context, in StackRequest) (*Stack, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Stack
	if err := s.client.do(ctx, request{method: "POST", path: "/stacks", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *StacksService) Get(ctx context.Context, id string) (*Stack, error) {
	var out Stack
	if err := s.client.do(ctx, request{method: "GET", path: "/stacks/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *StacksService) Update(ctx context.Context, id string, in StackRequest) (*Stack, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Stack
	if err := s.client.do(ctx, request{method: "PUT", path: "/stacks/" + pathEscape(id), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *StacksService) Delete(ctx context.Context, id string) error {
	return s.client.do(ctx, request{method: "DELETE", path: "/stacks/" + pathEscape(id)}, nil)
}

// List returns one page and the token of the next one ("" on the last page).
func (s *StacksService) List(ctx context.Context, opts ListOptions) ([]Stack, string, error) {
	return listPage[Stack](ctx, s.client, "/stacks", opts.values())
}

// ListAll returns every stack matching opts, following pages.
func (s *StacksService) ListAll(ctx context.Context, opts ListOptions) ([]Stack, error) {
	return listAll[Stack](ctx, s.client, "/stacks", opts.values())
}
