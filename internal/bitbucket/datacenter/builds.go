package datacenter

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// BuildState is a build status state.
type BuildState string

const (
	StateInProgress BuildState = "INPROGRESS"
	StateSuccessful BuildState = "SUCCESSFUL"
	StateFailed     BuildState = "FAILED"
	StateCancelled  BuildState = "CANCELLED"
	StateUnknown    BuildState = "UNKNOWN"
)

// MaxBuildStatusKeyLen is the limit orbit keeps to on both products (Data Center
// itself allows 255).
const MaxBuildStatusKeyLen = bitbucket.MaxBuildStatusKeyLen

// BuildStatusRequest sets the status with Key on a commit (Data Center replaces an
// existing status with the same key).
type BuildStatusRequest struct {
	Key         string     `json:"key"`
	State       BuildState `json:"state"`
	URL         string     `json:"url"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
	Ref         string     `json:"ref,omitempty"` // e.g. refs/heads/main
	BuildNumber string     `json:"buildNumber,omitempty"`
}

// BuildStatus is a build status as Data Center returns it.
type BuildStatus struct {
	Key         string     `json:"key"`
	State       BuildState `json:"state"`
	URL         string     `json:"url"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Ref         string     `json:"ref"`
	BuildNumber string     `json:"buildNumber"`
	CreatedDate int64      `json:"createdDate"`
	UpdatedDate int64      `json:"updatedDate"`
}

func (r BuildStatusRequest) validate() error {
	if err := bitbucket.ValidateBuildStatusKey(r.Key); err != nil {
		return err
	}
	switch r.State {
	case StateInProgress, StateSuccessful, StateFailed, StateCancelled, StateUnknown:
	default:
		return &bitbucket.ValidationError{Field: "state", Message: "must be one of INPROGRESS, SUCCESSFUL, FAILED, CANCELLED, UNKNOWN"}
	}
	if r.URL == "" {
		return &bitbucket.ValidationError{Field: "url", Message: "is required"}
	}
	if r.Ref != "" && !strings.HasPrefix(r.Ref, "refs/") {
		return &bitbucket.ValidationError{Field: "ref", Message: "must be a full ref name such as refs/heads/main"}
	}
	return nil
}

func buildsPath(projectKey, repoSlug, commit string) (string, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return "", err
	}
	if commit == "" {
		return "", &bitbucket.ValidationError{Field: "commit", Message: "is required"}
	}
	return repoPath(projectKey, repoSlug, "commits", commit, "builds"), nil
}

// SetBuildStatus posts a build status (204). POST: never retried.
func (c *Client) SetBuildStatus(ctx context.Context, projectKey, repoSlug, commit string, in BuildStatusRequest) error {
	if err := in.validate(); err != nil {
		return err
	}
	path, err := buildsPath(projectKey, repoSlug, commit)
	if err != nil {
		return err
	}
	_, err = c.rest.Do(ctx, rest.Request{Method: http.MethodPost, Path: path, Body: in, Expect: []int{http.StatusNoContent, http.StatusOK}})
	return err
}

// GetBuildStatus reads the status with key on a commit.
func (c *Client) GetBuildStatus(ctx context.Context, projectKey, repoSlug, commit, key string) (BuildStatus, error) {
	if err := bitbucket.ValidateBuildStatusKey(key); err != nil {
		return BuildStatus{}, err
	}
	path, err := buildsPath(projectKey, repoSlug, commit)
	if err != nil {
		return BuildStatus{}, err
	}
	var out BuildStatus
	_, err = c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: path, Query: url.Values{"key": {key}}, Out: &out, Expect: []int{http.StatusOK}})
	return out, err
}
