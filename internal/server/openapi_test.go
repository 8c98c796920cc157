package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

var loadOpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	// The run pages answer HTML: validated as a string, like text/plain.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIDocument())
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	if _, err := loadOpenAPI(); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
}

// TestOpenAPIMatchesRoutes fails when a route is served that the document does not
// describe, or the document describes a route that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := server.RoutePatterns()
	slices.Sort(documented)
	slices.Sort(served)
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("route %q is served but not in openapi.json", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("openapi.json describes %q, which is not served", p)
		}
	}
	if len(served) < 20 {
		t.Fatalf("only %d routes served; the route table was not read", len(served))
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, "")
	status, body := c.do(http.MethodGet, "/api/v1/openapi.json", nil)
	if status != http.StatusOK || !bytes.Equal(body, server.OpenAPIDocument()) {
		t.Fatalf("GET /api/v1/openapi.json: %d, %d bytes", status, len(body))
	}
}

// openAPIChecker validates every answer a client receives against openapi.json.
func openAPIChecker(t testing.TB) func(*http.Request, int, http.Header, []byte) {
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return func(req *http.Request, status int, header http.Header, body []byte) {
		t.Helper()
		// The document's server is "/", so match on the path alone.
		probe := req.Clone(context.Background())
		probe.URL = &url.URL{Path: req.URL.Path, RawQuery: req.URL.RawQuery}
		probe.Host = ""
		probe.Body = io.NopCloser(bytes.NewReader(nil))
		route, params, err := router.FindRoute(probe)
		if err != nil {
			t.Errorf("%s %s: no route in openapi.json: %v", req.Method, req.URL.Path, err)
			return
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route},
			Status:                 status,
			Header:                 header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s -> %d does not match openapi.json: %v\nbody: %s", req.Method, req.URL.Path, status, err, body)
		}
	}
}

var _ routers.Router // keep the import explicit for readers of FindRoute's type

// The size limits openapi.json states are the ones the server enforces.
func TestOpenAPISizeLimits(t *testing.T) {
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range server.InputSizeLimits {
		kind, name, _ := strings.Cut(key, ".")
		var schema *openapi3.Schema
		if kind == "param" {
			p := doc.Components.Parameters[name]
			if p == nil || p.Value == nil || p.Value.Schema == nil {
				t.Errorf("%s: no such parameter", key)
				continue
			}
			schema = p.Value.Schema.Value
		} else {
			s := doc.Components.Schemas[kind]
			if s == nil || s.Value.Properties[name] == nil {
				t.Errorf("%s: no such property", key)
				continue
			}
			schema = s.Value.Properties[name].Value
		}
		got := schema.MaxLength
		if schema.Type.Is("array") {
			got = schema.MaxItems
		}
		if got == nil || *got != uint64(want) {
			t.Errorf("%s: openapi.json limit %v, server enforces %d", key, got, want)
		}
	}
}

// The validate answer's reason enum is the set of reasons the server reports.
func TestOpenAPICheckReasons(t *testing.T) {
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range doc.Components.Schemas["ValidateResult"].Value.Properties["reason"].Value.Enum {
		got = append(got, v.(string))
	}
	want := slices.Clone(server.CheckReasons)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("openapi.json reasons %v, server reasons %v", got, want)
	}
}
