package cloud

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// maxPageLen is Bitbucket Cloud's largest page; larger values are capped by the server.
const maxPageLen = 100

// maxPages guards against a server whose `next` links never end.
const maxPages = 10000

// Hook is a repository webhook as Bitbucket returns it. The secret is write-only:
// reads only say whether one is set.
type Hook struct {
	UUID                 string    `json:"uuid"` // with braces, e.g. {0b9f...}
	URL                  string    `json:"url"`
	Description          string    `json:"description"`
	SubjectType          string    `json:"subject_type"`
	Active               bool      `json:"active"`
	Events               []string  `json:"events"`
	SecretSet            bool      `json:"secret_set"`
	SkipCertVerification bool      `json:"skip_cert_verification"`
	CreatedAt            time.Time `json:"created_at"`
}

// CreateHookRequest is the body of a hook creation. An empty Secret creates a hook
// without one (deliveries are then unsigned).
type CreateHookRequest struct {
	URL                  string
	Description          string
	Active               bool
	Events               []string
	Secret               bitbucket.Secret
	SkipCertVerification bool
}

func (r CreateHookRequest) validate() error {
	if err := bitbucket.ValidateWebhookTarget(r.URL, r.Events); err != nil {
		return err
	}
	if len(r.Secret) > 128 {
		return &bitbucket.ValidationError{Field: "secret", Message: "must be at most 128 characters"}
	}
	return nil
}

// wire is the JSON body; the only place the secret is revealed.
func (r CreateHookRequest) wire() any {
	type wire struct {
		URL                  string   `json:"url"`
		Description          string   `json:"description"`
		Active               bool     `json:"active"`
		Events               []string `json:"events"`
		Secret               string   `json:"secret,omitempty"`
		SkipCertVerification bool     `json:"skip_cert_verification"`
	}
	return wire{r.URL, r.Description, r.Active, r.Events, r.Secret.Reveal(), r.SkipCertVerification}
}

// SecretUpdate says what an update does to a hook's secret. The zero value keeps it:
// the field is left out of the body. Bitbucket Cloud treats null and "" as "remove",
// so UpdateHook refuses SetSecret with an empty value and removal must be asked for
// with RemoveSecret.
type SecretUpdate = bitbucket.SecretUpdate

// KeepSecret leaves the secret unchanged (the default).
func KeepSecret() SecretUpdate { return bitbucket.KeepSecret() }

// SetSecret replaces the secret. An empty value is rejected by UpdateHook.
func SetSecret(secret bitbucket.Secret) SecretUpdate { return bitbucket.SetSecret(secret) }

// RemoveSecret deletes the secret (sends "secret": null); deliveries are then unsigned.
func RemoveSecret() SecretUpdate { return bitbucket.RemoveSecret() }

// UpdateHookRequest replaces a hook's settings. Secret defaults to KeepSecret.
type UpdateHookRequest struct {
	URL                  string
	Description          string
	Active               bool
	Events               []string
	SkipCertVerification bool
	Secret               SecretUpdate
}

func (r UpdateHookRequest) validate() error {
	if err := bitbucket.ValidateWebhookTarget(r.URL, r.Events); err != nil {
		return err
	}
	if secret, ok := r.Secret.NewSecret(); ok {
		if secret == "" {
			return &bitbucket.ValidationError{Field: "secret", Message: "must not be empty (Bitbucket would remove the secret); use RemoveSecret to remove it deliberately"}
		}
		if len(secret) > 128 {
			return &bitbucket.ValidationError{Field: "secret", Message: "must be at most 128 characters"}
		}
	}
	return nil
}

// wire is the JSON body: the secret field is present only to set or remove it.
func (r UpdateHookRequest) wire() any {
	body := map[string]any{
		"url":                    r.URL,
		"description":            r.Description,
		"active":                 r.Active,
		"events":                 r.Events,
		"skip_cert_verification": r.SkipCertVerification,
	}
	if secret, ok := r.Secret.NewSecret(); ok {
		body["secret"] = secret.Reveal()
	} else if r.Secret.Removes() {
		body["secret"] = nil
	}
	return body
}

// HookUID puts a hook UUID in the form Bitbucket's hook paths take ({uuid}, braces
// included; the path escaping happens when the URL is built).
func HookUID(uuid string) string {
	uuid = strings.TrimSpace(uuid)
	if uuid == "" {
		return ""
	}
	return "{" + strings.TrimSuffix(strings.TrimPrefix(uuid, "{"), "}") + "}"
}

func hookPath(workspace, repoSlug, uuid string) (string, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return "", err
	}
	uid := HookUID(uuid)
	if uid == "" {
		return "", &bitbucket.ValidationError{Field: "uuid", Message: "is required"}
	}
	return repoPath(workspace, repoSlug, "hooks", uid), nil
}

// Hooks iterates over every hook of a repository, following `next` links (100 per
// page). Iteration stops at the first error, which is yielded.
func (c *Client) Hooks(ctx context.Context, workspace, repoSlug string) iter.Seq2[Hook, error] {
	return func(yield func(Hook, error) bool) {
		if err := requireRepo(workspace, repoSlug); err != nil {
			yield(Hook{}, err)
			return
		}
		req := rest.Request{
			Method: http.MethodGet,
			Path:   repoPath(workspace, repoSlug, "hooks"),
			Query:  url.Values{"pagelen": {strconv.Itoa(maxPageLen)}},
		}
		for h, err := range pages[Hook](ctx, c, req) {
			if !yield(h, err) || err != nil {
				return
			}
		}
	}
}

// ListHooks returns every hook of a repository (all pages).
func (c *Client) ListHooks(ctx context.Context, workspace, repoSlug string) ([]Hook, error) {
	return rest.Collect(c.Hooks(ctx, workspace, repoSlug))
}

// GetHook reads one hook; bitbucket.IsNotFound(err) when it does not exist.
func (c *Client) GetHook(ctx context.Context, workspace, repoSlug, uuid string) (Hook, error) {
	path, err := hookPath(workspace, repoSlug, uuid)
	if err != nil {
		return Hook{}, err
	}
	var h Hook
	_, err = c.do(ctx, rest.Request{Method: http.MethodGet, Path: path, Out: &h, Expect: []int{http.StatusOK}})
	return h, err
}

// CreateHook installs a hook (201). It is never retried: a retry could create a
// duplicate.
func (c *Client) CreateHook(ctx context.Context, workspace, repoSlug string, in CreateHookRequest) (Hook, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return Hook{}, err
	}
	if err := in.validate(); err != nil {
		return Hook{}, err
	}
	var h Hook
	_, err := c.do(ctx, rest.Request{
		Method:  http.MethodPost,
		Path:    repoPath(workspace, repoSlug, "hooks"),
		Body:    in.wire(),
		Out:     &h,
		Expect:  []int{http.StatusCreated},
		Secrets: []string{in.Secret.Reveal()},
	})
	return h, err
}

// UpdateHook replaces a hook's settings (PUT). The secret is kept unless in.Secret
// says otherwise.
func (c *Client) UpdateHook(ctx context.Context, workspace, repoSlug, uuid string, in UpdateHookRequest) (Hook, error) {
	path, err := hookPath(workspace, repoSlug, uuid)
	if err != nil {
		return Hook{}, err
	}
	if err := in.validate(); err != nil {
		return Hook{}, err
	}
	secret, _ := in.Secret.NewSecret()
	var h Hook
	_, err = c.do(ctx, rest.Request{
		Method:  http.MethodPut,
		Path:    path,
		Body:    in.wire(),
		Out:     &h,
		Expect:  []int{http.StatusOK},
		Secrets: []string{secret.Reveal()},
	})
	return h, err
}

// DeleteHook removes a hook (204); bitbucket.IsNotFound(err) when it is already gone.
func (c *Client) DeleteHook(ctx context.Context, workspace, repoSlug, uuid string) error {
	path, err := hookPath(workspace, repoSlug, uuid)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, rest.Request{Method: http.MethodDelete, Path: path, Expect: []int{http.StatusNoContent, http.StatusOK}})
	return err
}
