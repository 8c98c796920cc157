package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
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
	u, _, err := c.currentUser(ctx)
	return u, err
}

func (c *Client) currentUser(ctx context.Context) (User, http.Header, error) {
	var u User
	h, err := c.do(ctx, rest.Request{Method: http.MethodGet, Path: rest.Path("2.0", "user"), Out: &u, Expect: []int{http.StatusOK}})
	return u, h, err
}

// scopesHeader is where Bitbucket Cloud reports the scopes of the credential a
// request was made with (Atlassian's "How to fetch the scope of a token").
const scopesHeader = "X-OAuth-Scopes"

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
// workspace and the repository when given. The result says why it failed, and which
// scopes Bitbucket reported the credential holds.
func (c *Client) CheckCredentials(ctx context.Context, target CheckTarget) bitbucket.CheckResult {
	user, header, err := c.currentUser(ctx)
	if err != nil {
		return classify(err, "the account (GET /2.0/user, which needs the scope "+strings.Join(scopesOf("GET", "/user"), ", ")+")")
	}
	var scopes []string
	_, reported := header[http.CanonicalHeaderKey(scopesHeader)]
	if reported {
		scopes = access.ParseScopes(strings.Join(header.Values(scopesHeader), ","))
	}
	account := user.DisplayName
	if account == "" {
		account = user.Nickname
	}
	if target.Workspace != "" {
		if _, err := c.GetWorkspace(ctx, target.Workspace); err != nil {
			r := classify(err, fmt.Sprintf("workspace %q (which needs the scope %s)", target.Workspace, strings.Join(scopesOf("GET", "/workspaces/{workspace}"), ", ")))
			r.Account = account
			return r
		}
	}
	if target.Repository != "" {
		if _, err := c.GetRepository(ctx, target.Workspace, target.Repository); err != nil {
			r := classify(err, fmt.Sprintf("repository %s/%s (which needs the scope %s)", target.Workspace, target.Repository, strings.Join(scopesOf("GET", "/repositories/{workspace}/{repo_slug}"), ", ")))
			r.Account = account
			return r
		}
	}
	return bitbucket.CheckResult{Reason: bitbucket.ReasonOK, Message: "credentials accepted by Bitbucket Cloud", Account: account,
		Scopes: scopes, ScopesReported: reported}
}

// scopesOf are the scopes Atlassian's description lists for an operation.
func scopesOf(method, path string) []string {
	op, _ := access.Find(access.Cloud, method, path)
	return op.Scopes
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
			Message: "the API token cannot read " + what + " (403: " + apiErr.Message + "); give the token that scope, or the account access"}
	})
}
