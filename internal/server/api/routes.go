package api

import (
	"context"
	_ "embed"
	"errors"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// handlerFunc is an API handler: p is the authenticated caller (nil on public routes).
// A returned error is written in the API.md error shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

// route is one entry of the single route table: it registers the mux and feeds the
// test that compares the mux with openapi.json.
type route struct {
	Method string
	Path   string
	// Public routes need no API key.
	Public bool
	// Resource names the object in 404 messages.
	Resource string
	handle   handlerFunc
}

func (rt route) pattern() string { return rt.Method + " " + rt.Path }

const apiPrefix = "/api/v1"

func (s *API) routeTable() []route {
	routes := []route{
		{Method: "GET", Path: "/healthz", Public: true, handle: s.healthz},
		{Method: "GET", Path: "/readyz", Public: true, handle: s.readyz},
		{Method: "GET", Path: "/metrics", Public: true, handle: s.serveMetrics},
		{Method: "GET", Path: apiPrefix + "/openapi.json", Public: true, handle: serveOpenAPI},

		{Method: "GET", Path: apiPrefix + "/whoami", Resource: "API key", handle: s.whoami},

		{Method: "GET", Path: apiPrefix + "/spaces", Resource: "space", handle: s.listSpaces},
		{Method: "POST", Path: apiPrefix + "/spaces", Resource: "space", handle: s.createSpace},
		{Method: "GET", Path: apiPrefix + "/spaces/{id}", Resource: "space", handle: s.getSpace},
		{Method: "PUT", Path: apiPrefix + "/spaces/{id}", Resource: "space", handle: s.updateSpace},
		{Method: "DELETE", Path: apiPrefix + "/spaces/{id}", Resource: "space", handle: s.deleteSpace},

		{Method: "GET", Path: apiPrefix + "/api-keys", Resource: "API key", handle: s.listAPIKeys},
		{Method: "POST", Path: apiPrefix + "/api-keys", Resource: "API key", handle: s.createAPIKey},
		{Method: "GET", Path: apiPrefix + "/api-keys/{id}", Resource: "API key", handle: s.getAPIKey},
		{Method: "DELETE", Path: apiPrefix + "/api-keys/{id}", Resource: "API key", handle: s.deleteAPIKey},

		{Method: "GET", Path: apiPrefix + "/stacks", Resource: "stack", handle: s.listStacks},
		{Method: "POST", Path: apiPrefix + "/stacks", Resource: "stack", handle: s.createStack},
		{Method: "GET", Path: apiPrefix + "/stacks/{id}", Resource: "stack", handle: s.getStack},
		{Method: "PUT", Path: apiPrefix + "/stacks/{id}", Resource: "stack", handle: s.updateStack},
		{Method: "DELETE", Path: apiPrefix + "/stacks/{id}", Resource: "stack", handle: s.deleteStack},
		{Method: "GET", Path: apiPrefix + "/stacks/{id}/vcs-binding", Resource: "stack", handle: s.getStackBinding},
		{Method: "POST", Path: apiPrefix + "/stacks/{id}/vcs-binding", Resource: "stack", handle: s.createStackBinding},
		{Method: "PUT", Path: apiPrefix + "/stacks/{id}/vcs-binding", Resource: "stack", handle: s.replaceStackBinding},
		{Method: "DELETE", Path: apiPrefix + "/stacks/{id}/vcs-binding", Resource: "stack", handle: s.deleteStackBinding},
		{Method: "POST", Path: apiPrefix + "/stacks/{id}/trigger", Resource: "stack", handle: s.triggerStack},
		{Method: "GET", Path: apiPrefix + "/stacks/{id}/runs", Resource: "stack", handle: s.listStackRuns},
		{Method: "GET", Path: apiPrefix + "/runs", Resource: "run", handle: s.listRuns},
		{Method: "GET", Path: apiPrefix + "/runs/{id}", Resource: "run", handle: s.getRun},
		{Method: "POST", Path: apiPrefix + "/runs/{id}/start", Resource: "run", handle: s.startRun},
		{Method: "POST", Path: apiPrefix + "/runs/{id}/result", Resource: "run", handle: s.reportRunResult},
		{Method: "GET", Path: apiPrefix + "/runs/{id}/page", Resource: "run", handle: s.getRunPage},
		{Method: "POST", Path: apiPrefix + "/runs/{id}/page-link", Resource: "run", handle: s.reissueRunPageLink},
		{Method: "DELETE", Path: apiPrefix + "/runs/{id}/page-link", Resource: "run", handle: s.revokeRunPageLink},

		{Method: "GET", Path: apiPrefix + "/integrations", Resource: "integration", handle: s.listIntegrations},
		{Method: "POST", Path: apiPrefix + "/integrations", Resource: "integration", handle: s.createIntegration},
		{Method: "GET", Path: apiPrefix + "/integrations/{id}", Resource: "integration", handle: s.getIntegration},
		{Method: "PUT", Path: apiPrefix + "/integrations/{id}", Resource: "integration", handle: s.updateIntegration},
		{Method: "DELETE", Path: apiPrefix + "/integrations/{id}", Resource: "integration", handle: s.deleteIntegration},
		{Method: "POST", Path: apiPrefix + "/integrations/{id}/rotate-secret", Resource: "integration", handle: s.rotateIntegrationSecret},
		{Method: "GET", Path: apiPrefix + "/integrations/{id}/webhook", Resource: "integration", handle: s.getIntegrationWebhook},
		{Method: "POST", Path: apiPrefix + "/integrations/{id}/validate", Resource: "integration", handle: s.validateIntegration},
		{Method: "GET", Path: apiPrefix + "/integrations/{id}/bindings", Resource: "integration", handle: s.listIntegrationBindings},
		{Method: "GET", Path: apiPrefix + "/integrations/{id}/deliveries", Resource: "integration", handle: s.listDeliveries},
		{Method: "GET", Path: apiPrefix + "/integrations/{id}/deliveries/{delivery_id}", Resource: "delivery", handle: s.getDelivery},
		{Method: "POST", Path: apiPrefix + "/integrations/{id}/deliveries/{delivery_id}/redeliver", Resource: "delivery", handle: s.redeliverDelivery},

		{Method: "GET", Path: apiPrefix + "/vcs-agent-pools", Resource: "VCS agent pool", handle: s.listVCSAgentPools},
		{Method: "POST", Path: apiPrefix + "/vcs-agent-pools", Resource: "VCS agent pool", handle: s.createVCSAgentPool},
		{Method: "GET", Path: apiPrefix + "/vcs-agent-pools/{id}", Resource: "VCS agent pool", handle: s.getVCSAgentPool},
		{Method: "PUT", Path: apiPrefix + "/vcs-agent-pools/{id}", Resource: "VCS agent pool", handle: s.updateVCSAgentPool},
		{Method: "DELETE", Path: apiPrefix + "/vcs-agent-pools/{id}", Resource: "VCS agent pool", handle: s.deleteVCSAgentPool},
		{Method: "GET", Path: apiPrefix + "/vcs-agent-pools/{id}/tokens", Resource: "VCS agent pool", handle: s.listVCSAgentPoolTokens},
		{Method: "POST", Path: apiPrefix + "/vcs-agent-pools/{id}/tokens", Resource: "VCS agent pool", handle: s.issueVCSAgentPoolToken},
		{Method: "DELETE", Path: apiPrefix + "/vcs-agent-pools/{id}/tokens/{token_id}", Resource: "VCS agent pool", handle: s.revokeVCSAgentPoolToken},
		{Method: "POST", Path: apiPrefix + "/vcs-agent-pools/{id}/tokens/{token_id}/rotate", Resource: "VCS agent pool", handle: s.rotateVCSAgentPoolToken},
	}
	// The routes of other components (the receiver's webhooks) are public.
	for _, rt := range s.publicRoutes {
		handle := rt.Handle
		routes = append(routes, route{Method: rt.Method, Path: rt.Path, Public: true, Resource: rt.Resource,
			handle: func(w http.ResponseWriter, r *http.Request, _ *principal) error { return handle(w, r) }})
	}
	return routes
}

// Patterns are the patterns ("METHOD /path") of the route table, for the test that
// holds it to openapi.json.
func (s *API) Patterns() []string {
	var patterns []string
	for _, rt := range s.routeTable() {
		patterns = append(patterns, rt.pattern())
	}
	return patterns
}

// Handler is the whole HTTP surface: the route table behind the access log.
func (s *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.pattern(), s.wrap(rt))
	}
	return s.serveHTTP(mux)
}

// wrap authenticates (unless public), runs the handler and writes its error.
func (s *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := httpx.InfoFrom(r.Context())
		var p *principal
		var err error
		if !rt.Public {
			client := s.clientAddr(r)
			if wait := s.authLimit.RetryAfter(client); wait > 0 {
				err = auth.RateLimited(w, wait)
			} else {
				p, err = auth.Authenticate(r, s.store)
				if p != nil {
					info.KeyID = p.Key().ID
				}
				var ae *apiError
				if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
					s.authLimit.Failed(client)
					// RFC 6750: a 401 names the scheme the client must use.
					w.Header().Set("WWW-Authenticate", `Bearer realm="orbit"`)
				}
			}
		}
		handled := false
		if err == nil && p != nil {
			r, handled, err = s.idempotencyGate(w, r, p)
		}
		if err == nil && !handled {
			err = rt.handle(w, r, p)
		}
		if err == nil {
			return
		}
		ae := httpx.ToError(err, rt.Resource)
		if ae.Status >= 500 && !errors.Is(err, context.Canceled) {
			info.InternalErr = err
		}
		httpx.WriteError(w, ae)
	})
}

func (s *API) healthz(w http.ResponseWriter, r *http.Request, _ *principal) error {
	writeJSON(w, http.StatusOK, apiwire.Health{Status: "ok", Version: version.Get()})
	return nil
}

func (s *API) readyz(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, apiwire.Status{Status: "draining"})
		return nil
	}
	status, body := http.StatusOK, "ready"
	if err := s.store.Ping(r.Context()); err != nil {
		status, body = http.StatusServiceUnavailable, "store unavailable"
	} else if err := s.ready.check(r.Context(), s.store.ProbeWrite); err != nil {
		// A read-only database or a full disk: reads work, every write would fail.
		status, body = http.StatusServiceUnavailable, "store cannot write"
		httpx.InfoFrom(r.Context()).InternalErr = err
	}
	writeJSON(w, status, apiwire.Status{Status: body})
	return nil
}

func (s *API) serveMetrics(w http.ResponseWriter, r *http.Request, _ *principal) error {
	s.metrics.Handler().ServeHTTP(w, r)
	return nil
}

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the embedded OpenAPI description of the API.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

func serveOpenAPI(w http.ResponseWriter, r *http.Request, _ *principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
	return nil
}
