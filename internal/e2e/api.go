package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// API calls orbit-server's /api/v1 with an admin key.
type API struct {
	URL  string // server origin, e.g. http://127.0.0.1:8700
	Key  string
	HTTP *http.Client
}

// Do sends body as JSON and decodes a 2xx answer into out (when not nil); any
// other status is an error carrying the answer.
func (a API) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+"/api/v1"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := a.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Integration is an integration as the API answers it.
type Integration = apiwire.Integration

// CloudIntegration creates a Bitbucket Cloud integration in the root space
// (credentials not checked) and returns it with its webhook URL and secret.
func (a API) CloudIntegration(ctx context.Context, name, email, token string) (Integration, error) {
	var in Integration
	err := a.Do(ctx, http.MethodPost, "/integrations?check_credentials=false", apiwire.IntegrationRequest{
		Provider: "bitbucket_cloud", Name: name, SpaceID: "root", Labels: []string{},
		Email: email, APIToken: &token,
	}, &in)
	return in, err
}

// Stack creates a stack in the root space and returns its id.
func (a API) Stack(ctx context.Context, name string) (string, error) {
	var st apiwire.Stack
	err := a.Do(ctx, http.MethodPost, "/stacks", apiwire.StackRequest{Name: name, SpaceID: "root", Labels: []string{}}, &st)
	return st.ID, err
}

// Bind binds a stack to namespace/repository at branch through the integration.
func (a API) Bind(ctx context.Context, stackID, integrationID, namespace, repository, branch string) error {
	return a.Do(ctx, http.MethodPost, "/stacks/"+stackID+"/vcs-binding", apiwire.StackVCSBindingRequest{
		IntegrationID: integrationID, Namespace: namespace, Repository: repository, Branch: branch,
	}, nil)
}
