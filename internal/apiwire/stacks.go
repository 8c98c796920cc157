package apiwire

// StackRequest is the body of POST and PUT /stacks (a full replacement).
type StackRequest struct {
	Name        string   `json:"name"`
	SpaceID     string   `json:"space_id"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
}

// Stack is an infrastructure-as-code stack; runs are records attached to it.
type Stack struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	SpaceID     string   `json:"space_id"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
	CreatedAt   Time     `json:"created_at"`
	UpdatedAt   Time     `json:"updated_at"`
}

// StackVCSBindingRequest is the body of POST and PUT /stacks/{id}/vcs-binding (a
// full binding; a replace also re-attaches a detached binding). Absent branch and
// pull_request_runs take their defaults (main, true).
type StackVCSBindingRequest struct {
	IntegrationID string `json:"integration_id"`
	Namespace     string `json:"namespace"`
	Repository    string `json:"repository"`
	Branch        string `json:"branch"`
	ProjectRoot   string `json:"project_root"`
	// AdditionalProjectGlobs: absent, null or empty is none (a PUT replaces the binding).
	AdditionalProjectGlobs []string `json:"additional_project_globs,omitempty"`
	PullRequestRuns        *bool    `json:"pull_request_runs,omitempty"`
}

// StackVCSBinding ties a stack to one repository and branch through one integration.
type StackVCSBinding struct {
	StackID       string `json:"stack_id"`
	StackSpaceID  string `json:"stack_space_id"`
	IntegrationID string `json:"integration_id"`
	ProviderType  string `json:"provider_type"`
	Namespace     string `json:"namespace"`
	Repository    string `json:"repository"`
	Branch        string `json:"branch"`
	ProjectRoot   string `json:"project_root"`
	// AdditionalProjectGlobs is always an array ([] for none).
	AdditionalProjectGlobs []string `json:"additional_project_globs"`
	PullRequestRuns        bool     `json:"pull_request_runs"`
	Status                 string   `json:"status"`
	DetachedReason         string   `json:"detached_reason"`
	RepositoryURL          string   `json:"repository_url"`
	// Version is new at every create or replace (the ETag): an update or delete
	// acts only on the version it is given.
	Version   string `json:"version"`
	CreatedAt Time   `json:"created_at"`
	UpdatedAt Time   `json:"updated_at"`
}

// Run is one run of a stack.
type Run struct {
	ID            string  `json:"id"`
	StackID       string  `json:"stack_id"`
	Kind          string  `json:"kind"`
	Commit        string  `json:"commit"`
	Branch        string  `json:"branch"`
	PullRequest   *int64  `json:"pull_request"`
	State         string  `json:"state"`
	Result        *string `json:"result"`
	Message       string  `json:"message"`
	DeliveryID    *string `json:"delivery_id"`
	IntegrationID string  `json:"integration_id"`
	Namespace     string  `json:"namespace"`
	Repository    string  `json:"repository"`
	StatusError   string  `json:"status_error,omitempty"`
	// TriggerReason says why the run started (e.g. the changed paths that concern
	// the stack, or why the change could not be listed).
	TriggerReason string `json:"trigger_reason,omitempty"`
	// TriggeredBy is who or what started the run: the pusher, the pull request's
	// author (as Bitbucket's payload named them), or "API key <name>" for a manual
	// trigger; absent when unknown.
	TriggeredBy string `json:"triggered_by,omitempty"`
	// PullRequestTitle is the pull request's title when the run was made.
	PullRequestTitle string `json:"pull_request_title,omitempty"`
	// PageURL and PublicPageURL are set in the answer about one run: its page for
	// API-key holders, and the capability link (null when revoked).
	PageURL       string  `json:"page_url,omitempty"`
	PublicPageURL *string `json:"public_page_url,omitempty"`
	// CreatedAt is when the run was queued; StartedAt when a runner reported it
	// started (null if none did), FinishedAt when it finished (null until then).
	CreatedAt  Time  `json:"created_at"`
	StartedAt  *Time `json:"started_at"`
	FinishedAt *Time `json:"finished_at"`
	UpdatedAt  Time  `json:"updated_at"`
}

// RunResultRequest is the body of POST /runs/{id}/result.
type RunResultRequest struct {
	Result  string `json:"result"`
	Message string `json:"message"`
}
