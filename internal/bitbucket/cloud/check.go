package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// User is the account a credential authenticates as (GET /2.0/user).
type User struct {
	UUID        string `json:"uuid"`
	AccountID   string `json:"account_id"`
	DisplayName string `json:"display_name"`
	Nickname    string `json:"nickname"`
}

// CurrentUser returns the authenticated account.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	var u User
	_, err := c.do(ctx, rest.Request{Method: http.MethodGet, Path: rest.Path("2.0", "user"), Out: &u, Expect: []int{http.StatusOK}})
	return u, err
}

// Workspace is the part of a workspace the check reads.
type Workspace struct {
	UUID string `json:"uuid"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// GetWorkspace reads a workspace.
func (c *Client) GetWorkspace(ctx context.Context, workspace string) (Workspace, error) {
	if workspace == "" {
		return Workspace{}, &bitbucket.ValidationError{Field: "workspace", Message: "is required"}
	}
	var w Workspace
	_, err := c.do(ctx, rest.Request{Method: http.MethodGet, Path: rest.Path("2.0", "workspaces", workspace), Out: &w, Expect: []int{http.StatusOK}})
	return w, err
}

// Repository is the part of a repository the clients read.
type Repository struct {
	UUID       string          `json:"uuid"`
	Slug       string          `json:"slug"`
	Name       string          `json:"name"`
	FullName   string          `json:"full_name"`
	IsPrivate  bool            `json:"is_private"`
	MainBranch *Branch         `json:"mainbranch"` // nil for an empty repository
	Project    *ProjectRef     `json:"project"`
	Links      RepositoryLinks `json:"links"`
}

// GetRepository reads a repository.
func (c *Client) GetRepository(ctx context.Context, workspace, repoSlug string) (Repository, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return Repository{}, err
	}
	var r Repository
	_, err := c.do(ctx, rest.Request{Method: http.MethodGet, Path: repoPath(workspace, repoSlug), Out: &r, Expect: []int{http.StatusOK}})
	return r, err
}

// CheckTarget narrows a credential check; empty fields are not checked.
type CheckTarget struct {
	Workspace  string
	Repository string // needs Workspace
}

// CheckCredentials tells whether the credential works: GET /2.0/user, then the
// workspace and the repository when given. The result says why it failed.
func (c *Client) CheckCredentials(ctx context.Context, target CheckTarget) bitbucket.CheckResult {
	user, err := c.CurrentUser(ctx)
	if err != nil {
		return classify(err, "the account (GET /2.0/user)")
	}
	account := user.DisplayName
	if account == "" {
		account = user.Nickname
	}
	if target.Workspace != "" {
		if _, err := c.GetWorkspace(ctx, target.Workspace); err != nil {
			r := classify(err, fmt.Sprintf("workspace %q", target.Workspace))
			r.Account = account
			return r
		}
	}
	if target.Repository != "" {
		if _, err := c.GetRepository(ctx, target.Workspace, target.Repository); err != nil {
			r := classify(err, fmt.Sprintf("repository %s/%s", target.Workspace, target.Repository))
			r.Account = account
			return r
		}
	}
	return bitbucket.CheckResult{Reason: bitbucket.ReasonOK, Message: "credentials accepted by Bitbucket Cloud", Account: account}
}

func classify(err error, what string) bitbucket.CheckResult {
	var appPw *AppPasswordRejectedError
	if errors.As(err, &appPw) {
		return bitbucket.CheckResult{Reason: bitbucket.ReasonBadCredentials, Message: appPw.Error()}
	}
	return rest.ClassifyCheckError("Bitbucket Cloud", what, err, func(apiErr *bitbucket.APIError) bitbucket.CheckResult {
		if apiErr.StatusCode == http.StatusUnauthorized {
			return bitbucket.CheckResult{Reason: bitbucket.ReasonBadCredentials,
				Message: "Bitbucket Cloud rejected the email and API token (401: " + apiErr.Message + "); check that the token is valid and belongs to this Atlassian account email"}
		}
		return bitbucket.CheckResult{Reason: bitbucket.ReasonMissingScope,
			Message: "the API token cannot read " + what + " (403: " + apiErr.Message + "); give the token the needed scopes or access"}
	})
}
