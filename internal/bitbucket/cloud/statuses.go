package cloud

import (
	"context"
	"net/http"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// BuildState is a commit build status state.
type BuildState string

const (
	StateInProgress BuildState = "INPROGRESS"
	StateSuccessful BuildState = "SUCCESSFUL"
	StateFailed     BuildState = "FAILED"
	StateStopped    BuildState = "STOPPED"
)

// MaxBuildStatusKeyLen is Bitbucket's limit on a build status key.
const MaxBuildStatusKeyLen = bitbucket.MaxBuildStatusKeyLen

// BuildStatus is a commit build status.
type BuildStatus struct {
	Key         string     `json:"key"`
	State       BuildState `json:"state"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	URL         string     `json:"url"`
	Refname     string     `json:"refname,omitempty"`
	CreatedOn   time.Time  `json:"created_on,omitzero"`
	UpdatedOn   time.Time  `json:"updated_on,omitzero"`
}

// BuildStatusRequest creates or updates the status with Key on a commit.
type BuildStatusRequest struct {
	Key         string     `json:"key"`
	State       BuildState `json:"state"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	URL         string     `json:"url"`
	Refname     string     `json:"refname,omitempty"`
}

// wire adds the object type the API description requires on a commit status body.
func (r BuildStatusRequest) wire() any {
	type fields BuildStatusRequest
	return struct {
		Type string `json:"type"`
		fields
	}{"build", fields(r)}
}

func (r BuildStatusRequest) validate() error {
	if err := bitbucket.ValidateBuildStatusKey(r.Key); err != nil {
		return err
	}
	switch r.State {
	case StateInProgress, StateSuccessful, StateFailed, StateStopped:
	default:
		return &bitbucket.ValidationError{Field: "state", Message: "must be one of INPROGRESS, SUCCESSFUL, FAILED, STOPPED"}
	}
	if r.URL == "" {
		return &bitbucket.ValidationError{Field: "url", Message: "is required"}
	}
	return nil
}

func statusPath(workspace, repoSlug, commit string, key ...string) (string, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return "", err
	}
	if commit == "" {
		return "", &bitbucket.ValidationError{Field: "commit", Message: "is required"}
	}
	return repoPath(workspace, repoSlug, append([]string{"commit", commit, "statuses", "build"}, key...)...), nil
}

// CreateBuildStatus posts a status (201; Bitbucket updates the status when the key
// already exists). POST: never retried.
func (c *Client) CreateBuildStatus(ctx context.Context, workspace, repoSlug, commit string, in BuildStatusRequest) (BuildStatus, error) {
	if err := in.validate(); err != nil {
		return BuildStatus{}, err
	}
	path, err := statusPath(workspace, repoSlug, commit)
	if err != nil {
		return BuildStatus{}, err
	}
	var out BuildStatus
	_, err = c.do(ctx, rest.Request{Method: http.MethodPost, Path: path, Body: in.wire(), Out: &out, Expect: []int{http.StatusCreated, http.StatusOK}})
	return out, err
}

// UpdateBuildStatus replaces the status with in.Key (PUT, retried on 429/5xx);
// bitbucket.IsNotFound(err) when that key was never posted.
func (c *Client) UpdateBuildStatus(ctx context.Context, workspace, repoSlug, commit string, in BuildStatusRequest) (BuildStatus, error) {
	if err := in.validate(); err != nil {
		return BuildStatus{}, err
	}
	path, err := statusPath(workspace, repoSlug, commit, in.Key)
	if err != nil {
		return BuildStatus{}, err
	}
	var out BuildStatus
	_, err = c.do(ctx, rest.Request{Method: http.MethodPut, Path: path, Body: in.wire(), Out: &out, Expect: []int{http.StatusOK}})
	return out, err
}

// SetBuildStatus updates the status with in.Key, creating it when it does not exist
// yet; the update (PUT) is the retryable half.
func (c *Client) SetBuildStatus(ctx context.Context, workspace, repoSlug, commit string, in BuildStatusRequest) (BuildStatus, error) {
	out, err := c.UpdateBuildStatus(ctx, workspace, repoSlug, commit, in)
	if bitbucket.IsNotFound(err) {
		return c.CreateBuildStatus(ctx, workspace, repoSlug, commit, in)
	}
	return out, err
}

// GetBuildStatus reads the status with key on a commit.
func (c *Client) GetBuildStatus(ctx context.Context, workspace, repoSlug, commit, key string) (BuildStatus, error) {
	if err := bitbucket.ValidateBuildStatusKey(key); err != nil {
		return BuildStatus{}, err
	}
	path, err := statusPath(workspace, repoSlug, commit, key)
	if err != nil {
		return BuildStatus{}, err
	}
	var out BuildStatus
	_, err = c.do(ctx, rest.Request{Method: http.MethodGet, Path: path, Out: &out, Expect: []int{http.StatusOK}})
	return out, err
}
