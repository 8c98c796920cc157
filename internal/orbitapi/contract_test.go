package orbitapi_test

// Contract test: every method of the client against a real orbit-server
// (servertest), with every request and every answer validated against the server's
// openapi.json. A method added to the client without a call here fails
// TestContractCoversEveryMethod.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// validatingTransport checks each exchange against the OpenAPI document.
type validatingTransport struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	seen   int
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	probe.Host = ""
	probe.URL.Scheme, probe.URL.Host = "", ""
	route, params, err := v.router.FindRoute(probe)
	if err != nil {
		v.t.Errorf("%s %s: not in openapi.json: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	reqInput := &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil }},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), reqInput); err != nil {
		v.t.Errorf("%s %s: request does not match openapi.json: %v\nbody: %s", req.Method, req.URL.Path, err, body)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	respInput.SetBodyBytes(answer)
	if err := openapi3filter.ValidateResponse(context.Background(), respInput); err != nil {
		v.t.Errorf("%s %s -> %d: answer does not match openapi.json: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, answer)
	}
	v.mu.Lock()
	v.seen++
	v.mu.Unlock()
	return resp, nil
}

func newContractClient(t *testing.T, inst *servertest.Instance, key string) (*orbitapi.Client, *validatingTransport) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil // match on paths alone
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	vt := &validatingTransport{t: t, router: router}
	c, err := orbitapi.NewClient(inst.URL, key, orbitapi.WithHTTPClient(&http.Client{Transport: vt}))
	if err != nil {
		t.Fatal(err)
	}
	return c, vt
}

// covered records the methods the contract test called, as "Service.Method".
type covered struct {
	t     *testing.T
	names map[string]bool
}

func (c *covered) call(name string, err error) {
	c.t.Helper()
	c.names[name] = true
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c, vt := newContractClient(t, inst, inst.AdminKey)
	cov := &covered{t: t, names: map[string]bool{}}
	ctx := context.Background()

	who, err := c.Whoami(ctx)
	cov.call("Client.Whoami", err)
	if who.Role(orbitapi.RootSpaceID) != orbitapi.RoleAdmin {
		t.Fatalf("whoami = %+v", who)
	}

	space, err := c.Spaces.Create(ctx, orbitapi.SpaceRequest{Name: "contract", Description: "d", Labels: []string{"team:x"}})
	cov.call("Spaces.Create", err)
	_, err = c.Spaces.Get(ctx, space.ID)
	cov.call("Spaces.Get", err)
	_, err = c.Spaces.Update(ctx, space.ID, orbitapi.SpaceRequest{Name: "contract-2", InheritEntities: true})
	cov.call("Spaces.Update", err)
	_, _, err = c.Spaces.List(ctx, orbitapi.ListOptions{PageSize: 1})
	cov.call("Spaces.List", err)
	_, err = c.Spaces.ListAll(ctx, orbitapi.ListOptions{Labels: []string{"team:x"}})
	cov.call("Spaces.ListAll", err)

	stack, err := c.Stacks.Create(ctx, orbitapi.StackRequest{Name: "net", SpaceID: space.ID, Labels: []string{}})
	cov.call("Stacks.Create", err)
	_, err = c.Stacks.Get(ctx, stack.ID)
	cov.call("Stacks.Get", err)
	_, err = c.Stacks.Update(ctx, stack.ID, orbitapi.StackRequest{Name: "net-2", SpaceID: space.ID})
	cov.call("Stacks.Update", err)
	_, _, err = c.Stacks.List(ctx, orbitapi.ListOptions{SpaceID: space.ID})
	cov.call("Stacks.List", err)
	_, err = c.Stacks.ListAll(ctx, orbitapi.ListOptions{Name: "net-2"})
	cov.call("Stacks.ListAll", err)

	token := "cloud-token-contract-0001"
	in, err := c.Integrations.Create(ctx, orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketCloud, Name: "contract", SpaceID: space.ID, Email: "dev@example.com", APIToken: &token,
		VCSChecks: "all", Labels: []string{"a"}, SkipCredentialCheck: true,
	})
	cov.call("Integrations.Create", err)
	dcToken := "dc-token-contract-0001"
	dc, err := c.Integrations.Create(ctx, orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketDataCenter, Name: "contract-dc", IsDefault: true, Username: "svc",
		APIHost: "https://bitbucket.example.com", AccessToken: &dcToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Integrations.Get(ctx, in.ID)
	cov.call("Integrations.Get", err)
	_, err = c.Integrations.Update(ctx, in.ID, orbitapi.IntegrationRequest{Name: "contract", SpaceID: space.ID, Email: "dev@example.com", Description: "x"})
	cov.call("Integrations.Update", err)
	_, _, err = c.Integrations.List(ctx, orbitapi.IntegrationListOptions{Provider: orbitapi.ProviderBitbucketCloud})
	cov.call("Integrations.List", err)
	_, err = c.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{})
	cov.call("Integrations.ListAll", err)
	_, err = c.Integrations.RotateSecret(ctx, in.ID)
	cov.call("Integrations.RotateSecret", err)
	_, err = c.Integrations.Webhook(ctx, in.ID)
	cov.call("Integrations.Webhook", err)
	_, err = c.Integrations.Validate(ctx, dc.ID)
	cov.call("Integrations.Validate", err)
	// A second stack bound to the repository of the push below, so that the push
	// starts a run for the run methods.
	pushed, err := c.Stacks.Create(ctx, orbitapi.StackRequest{Name: "pushed", SpaceID: space.ID, Labels: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stacks.CreateBinding(ctx, pushed.ID, orbitapi.StackVCSBindingRequest{
		IntegrationID: in.ID, Namespace: "brydzewski", Repository: "foo", Branch: "master",
	}); err != nil {
		t.Fatal(err)
	}
	// The delivery log: one signed delivery (Bitbucket Cloud's real push payload),
	// listed, read with its body, and redelivered.
	hook, err := c.Integrations.Webhook(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("../../testdata/bitbucket/payloads/cloud/push.json")
	if err != nil {
		t.Fatal(err)
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.WebhookURL, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	post.Header.Set("Content-Type", "application/json")
	post.Header.Set("X-Event-Key", "repo:push")
	post.Header.Set("X-Request-UUID", "5a1c3b2e-0000-4000-8000-000000000001")
	post.Header.Set("X-Hub-Signature", bitbucket.Sign(bitbucket.Secret(hook.WebhookSecret), payload))
	resp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed delivery: %d", resp.StatusCode)
	}
	deliveries, _, err := c.Integrations.Deliveries(ctx, in.ID, orbitapi.DeliveryListOptions{Event: "repo:push", PageSize: 10})
	cov.call("Integrations.Deliveries", err)
	if len(deliveries) != 1 {
		t.Fatalf("delivery log: %+v", deliveries)
	}
	delivery, err := c.Integrations.Delivery(ctx, in.ID, deliveries[0].ID)
	cov.call("Integrations.Delivery", err)
	if delivery.Body == nil || *delivery.Body != string(payload) {
		t.Errorf("the delivery's body is not the one sent")
	}
	var runs []orbitapi.Run
	testwait.For(t, time.Minute, "the push's run", func() bool {
		runs, _, err = c.Stacks.Runs(ctx, pushed.ID, orbitapi.ListOptions{PageSize: 1})
		return err != nil || len(runs) == 1
	})
	cov.call("Stacks.Runs", err)
	run, err := c.Runs.Get(ctx, runs[0].ID)
	cov.call("Runs.Get", err)
	if run.Commit != "141977fedf5cf35aa290ac87d4b5177ac4cd9de1" || run.StackID != pushed.ID || run.PageURL == "" {
		t.Errorf("run = %+v, want the pushed commit of stack %s with its page", run, pushed.ID)
	}
	again, err := c.Integrations.Redeliver(ctx, in.ID, deliveries[0].ID)
	cov.call("Integrations.Redeliver", err)
	if again.RedeliveryOf == nil || *again.RedeliveryOf != deliveries[0].ID {
		t.Errorf("redelivery points to %v", again.RedeliveryOf)
	}
	bindingReq := orbitapi.StackVCSBindingRequest{
		IntegrationID: dc.ID, Namespace: "PLAT", Repository: "infra", Branch: "main", PullRequestRuns: new(true),
	}
	bound, err := c.Stacks.CreateBinding(ctx, stack.ID, bindingReq)
	cov.call("Stacks.CreateBinding", err)
	_, err = c.Stacks.GetBinding(ctx, stack.ID)
	cov.call("Stacks.GetBinding", err)
	bindingReq.Branch = "release"
	var updated *orbitapi.StackVCSBinding
	if bound != nil {
		updated, err = c.Stacks.UpdateBinding(ctx, stack.ID, bound.Version, bindingReq)
		cov.call("Stacks.UpdateBinding", err)
		if _, err := c.Stacks.UpdateBinding(ctx, stack.ID, bound.Version, bindingReq); !orbitapi.IsPreconditionFailed(err) {
			t.Fatalf("update with a replaced version: %v, want a 412", err)
		}
	}
	if updated != nil {
		cov.call("Stacks.DeleteBinding", c.Stacks.DeleteBinding(ctx, stack.ID, updated.Version))
	}

	pool, err := c.VCSAgentPools.Create(ctx, orbitapi.VCSAgentPoolRequest{Name: "contract-pool", SpaceID: space.ID, Description: "d"})
	cov.call("VCSAgentPools.Create", err)
	_, err = c.VCSAgentPools.Get(ctx, pool.ID)
	cov.call("VCSAgentPools.Get", err)
	_, err = c.VCSAgentPools.Update(ctx, pool.ID, orbitapi.VCSAgentPoolRequest{Name: "contract-pool", SpaceID: space.ID})
	cov.call("VCSAgentPools.Update", err)
	_, _, err = c.VCSAgentPools.List(ctx, orbitapi.ListOptions{SpaceID: space.ID, PageSize: 1})
	cov.call("VCSAgentPools.List", err)
	_, err = c.VCSAgentPools.ListAll(ctx, orbitapi.ListOptions{Name: "contract-pool"})
	cov.call("VCSAgentPools.ListAll", err)
	poolToken, err := c.VCSAgentPools.IssueToken(ctx, pool.ID, orbitapi.VCSAgentPoolTokenRequest{Description: "agent", ExpiresInSeconds: 3600})
	cov.call("VCSAgentPools.IssueToken", err)
	rotation, err := c.VCSAgentPools.RotateToken(ctx, pool.ID, poolToken.ID, orbitapi.VCSAgentPoolTokenRotateRequest{GraceSeconds: 60})
	cov.call("VCSAgentPools.RotateToken", err)
	_, err = c.VCSAgentPools.ListTokens(ctx, pool.ID)
	cov.call("VCSAgentPools.ListTokens", err)
	cov.call("VCSAgentPools.RevokeToken", c.VCSAgentPools.RevokeToken(ctx, pool.ID, rotation.Issued.ID))
	if _, err := c.VCSAgentPools.Create(ctx, orbitapi.VCSAgentPoolRequest{Name: "contract-pool", SpaceID: space.ID}); !orbitapi.IsConflict(err) {
		t.Fatalf("second create of a pool name: %v, want a conflict", err)
	}
	cov.call("VCSAgentPools.Delete", c.VCSAgentPools.Delete(ctx, pool.ID))

	// Error answers are part of the contract too.
	_, err = c.Spaces.Get(ctx, "no-such-space")
	if !orbitapi.IsNotFound(err) {
		t.Fatalf("missing space: %v, want orbit's not_found", err)
	}
	if _, err := c.Integrations.Create(ctx, orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketCloud, Name: "contract", SpaceID: space.ID, Email: "dev@example.com", APIToken: &token,
	}); !orbitapi.IsConflict(err) {
		t.Fatalf("second create of a name: %v, want a conflict", err)
	}

	if err := c.Stacks.Delete(ctx, pushed.ID); err != nil {
		t.Fatal(err)
	}
	cov.call("Integrations.Delete", c.Integrations.Delete(ctx, in.ID))
	cov.call("Stacks.Delete", c.Stacks.Delete(ctx, stack.ID))
	cov.call("Spaces.Delete", c.Spaces.Delete(ctx, space.ID))

	if vt.seen < len(cov.names) {
		t.Fatalf("the transport validated %d exchanges for %d methods", vt.seen, len(cov.names))
	}
	var missing []string
	for _, name := range clientMethods() {
		if !cov.names[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("client methods without a contract call: %s; add them to TestContract", strings.Join(missing, ", "))
	}
}

// clientMethods lists every exported method of the Client and of its services, as
// "Client.Method" and "Field.Method".
func clientMethods() []string {
	var out []string
	ct := reflect.TypeOf(&orbitapi.Client{})
	for i := range ct.NumMethod() {
		if m := ct.Method(i); m.Name != "Endpoint" {
			out = append(out, "Client."+m.Name)
		}
	}
	st := ct.Elem()
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.Pointer {
			continue
		}
		for j := range f.Type.NumMethod() {
			out = append(out, f.Name+"."+f.Type.Method(j).Name)
		}
	}
	sort.Strings(out)
	return out
}
