package orbitapi

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

type (
	// Stack is an infrastructure-as-code stack; runs are records attached to it.
	Stack = apiwire.Stack
	// StackRequest is the body of create and of update (a full replacement).
	StackRequest = apiwire.StackRequest
	// StackVCSBinding ties a stack to one repository and branch through one
	// integration.
	StackVCSBinding = apiwire.StackVCSBinding
	// StackVCSBindingRequest is the body of PUT /stacks/{id}/vcs-binding (a full
	// replacement; it also re-attaches a detached binding).
	StackVCSBindingRequest = apiwire.StackVCSBindingRequest
)

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

// Binding statuses (StackVCSBinding.Status).
const (
	BindingAttached = "attached"
	BindingDetached = "detached"
)

// GetBinding reads the VCS binding of a stack; a 404 means the stack has none (or does
// not exist).
func (s *StacksService) GetBinding(ctx context.Context, stackID string) (*StackVCSBinding, error) {
	var out StackVCSBinding
	if err := s.client.do(ctx, request{method: "GET", path: "/stacks/" + pathEscape(stackID) + "/vcs-binding"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateBinding binds a stack that has no binding. It never replaces one: a stack
// that has a binding is a 409 (APIError.Field "stack_id", ExistingID the stack id).
// Retried with one Idempotency-Key, a create whose answer was lost answers the first.
func (s *StacksService) CreateBinding(ctx context.Context, stackID string, in StackVCSBindingRequest) (*StackVCSBinding, error) {
	var out StackVCSBinding
	if err := s.client.do(ctx, request{method: "POST", path: "/stacks/" + pathEscape(stackID) + "/vcs-binding", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateBinding replaces the binding of version (its Version as read; "*" for
// whatever binding the stack has). Another version is a 412 (IsPreconditionFailed):
// the binding was replaced, or deleted and made again, since it was read.
func (s *StacksService) UpdateBinding(ctx context.Context, stackID, version string, in StackVCSBindingRequest) (*StackVCSBinding, error) {
	var out StackVCSBinding
	if err := s.client.do(ctx, request{method: "PUT", path: "/stacks/" + pathEscape(stackID) + "/vcs-binding", body: in, ifMatch: version}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteBinding removes the binding of version ("*" for whatever binding the stack
// has); another version is a 412 and nothing is deleted.
func (s *StacksService) DeleteBinding(ctx context.Context, stackID, version string) error {
	return s.client.do(ctx, request{method: "DELETE", path: "/stacks/" + pathEscape(stackID) + "/vcs-binding", ifMatch: version}, nil)
}
