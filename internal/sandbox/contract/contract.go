// Package contract checks HTTP traffic against Atlassian's OpenAPI descriptions of
// Bitbucket Cloud and Data Center (kept in testdata/bitbucket/openapi), with kin-openapi.
// Client tests and sandbox tests use it so that every request sent and every response
// received fits the published API, not just our own idea of it.
//
// Known gaps of the descriptions against the live services are tolerated explicitly
// and narrowly (see patchCloud and patchDataCenter):
//   - Cloud hook bodies carry `skip_cert_verification`; webhook_subscription allows extra
//     properties, so nothing needs patching, and this package asserts that it stays so.
//   - Cloud answers 429 without documenting it or `Retry-After`; undocumented statuses are
//     checked against the product's error body instead (see validateErrorBody).
//   - Cloud's 403 for a token lacking a scope carries {"required":[...],"granted":[...]}
//     in error.detail, which the description types as a string; detail takes either.
//   - Cloud's GET /user/emails documents only a default (error) response; a success an
//     operation does not list is not checked against its default error schema.
//   - Data Center error bodies carry `"context": null` and `"exceptionName": null`, which
//     RestErrorMessage types as plain strings; those two fields are made nullable.
//   - Data Center returns `links` on projects and repositories, which the description marks
//     writeOnly; `links` properties lose their writeOnly flag.
//
// It imports only the standard library and kin-openapi.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Product names a description.
type Product string

const (
	ProductCloud      Product = "cloud"
	ProductDataCenter Product = "datacenter"
)

const (
	cloudFile      = "cloud-openapi3.json"
	dataCenterFile = "datacenter-9.2-openapi3.json"
	// EnvDir overrides where the descriptions are looked for.
	EnvDir = "BITBUCKET_OPENAPI_DIR"
)

// Validator checks requests and responses of one product.
type Validator struct {
	product     Product
	doc         *openapi3.T
	router      routers.Router
	errorSchema *openapi3.Schema
}

type loaded struct {
	v   *Validator
	err error
}

var (
	cloudOnce, dcOnce sync.Once
	cloudLoaded       loaded
	dcLoaded          loaded
)

// Cloud returns the validator for Bitbucket Cloud, loading the description once per test
// binary. It fails the test when the description cannot be found or loaded: a contract
// check that silently does not run is worse than none.
func Cloud(t testing.TB) *Validator {
	t.Helper()
	cloudOnce.Do(func() { cloudLoaded.v, cloudLoaded.err = Load(ProductCloud, "") })
	return must(t, cloudLoaded)
}

// DataCenter is Cloud for Bitbucket Data Center 9.2.
func DataCenter(t testing.TB) *Validator {
	t.Helper()
	dcOnce.Do(func() { dcLoaded.v, dcLoaded.err = Load(ProductDataCenter, "") })
	return must(t, dcLoaded)
}

var errNoDescriptions = errors.New("the Bitbucket OpenAPI descriptions were not found")

func must(t testing.TB, l loaded) *Validator {
	t.Helper()
	if errors.Is(l.err, errNoDescriptions) {
		t.Fatalf("contract: %v (they live in testdata/bitbucket/openapi at the module root; %s overrides)", l.err, EnvDir)
	}
	if l.err != nil {
		t.Fatalf("contract: %v", l.err)
	}
	return l.v
}

// FindDir locates the descriptions: $BITBUCKET_OPENAPI_DIR, else the module's
// testdata/bitbucket/openapi directory, found from the working directory upwards.
func FindDir() (string, error) {
	if dir := os.Getenv(EnvDir); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "testdata", "bitbucket", "openapi")
		if _, err := os.Stat(filepath.Join(candidate, cloudFile)); err == nil {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%w above %s", errNoDescriptions, wd)
		}
	}
}

// Load reads one product's description from dir ("" means FindDir) and builds a router.
func Load(product Product, dir string) (*Validator, error) {
	if dir == "" {
		var err error
		if dir, err = FindDir(); err != nil {
			return nil, err
		}
	}
	file := cloudFile
	if product == ProductDataCenter {
		file = dataCenterFile
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", file, err)
	}
	v := &Validator{product: product, doc: doc}
	if product == ProductCloud {
		err = patchCloud(v)
	} else {
		err = patchDataCenter(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// We strip the server prefix from requests ourselves, so route on bare paths.
	doc.Servers = nil
	if v.router, err = gorillamux.NewRouter(doc); err != nil {
		return nil, fmt.Errorf("route %s: %w", file, err)
	}
	return v, nil
}

func patchCloud(v *Validator) error {
	errRef := v.doc.Components.Schemas["error"]
	if errRef == nil || errRef.Value == nil {
		return errors.New("no #/components/schemas/error")
	}
	v.errorSchema = errRef.Value
	// Bitbucket's answer to a token lacking a scope carries the required and granted
	// scopes as an object in error.detail, which the description types as a string:
	// detail takes either.
	if inner := errRef.Value.Properties["error"]; inner != nil && inner.Value != nil {
		if detail := inner.Value.Properties["detail"]; detail != nil && detail.Value != nil {
			detail.Value = &openapi3.Schema{OneOf: openapi3.SchemaRefs{
				{Value: openapi3.NewStringSchema()},
				{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Properties: openapi3.Schemas{
					"required": {Value: openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())},
					"granted":  {Value: openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema())},
				}}},
			}}
		} else {
			return errors.New("error.detail is no longer in #/components/schemas/error")
		}
	}
	// skip_cert_verification is undocumented; it validates only while webhook_subscription
	// keeps allowing extra properties. Fail loudly if a newer description changes that.
	hook := v.doc.Components.Schemas["webhook_subscription"]
	if hook == nil || hook.Value == nil || len(hook.Value.AllOf) < 2 {
		return errors.New("webhook_subscription is not the expected allOf")
	}
	body := hook.Value.AllOf[1].Value
	if _, documented := body.Properties["skip_cert_verification"]; !documented {
		if ap := body.AdditionalProperties.Has; ap != nil && !*ap {
			return errors.New("webhook_subscription forbids skip_cert_verification")
		}
	}
	return nil
}

func patchDataCenter(v *Validator) error {
	msg := v.doc.Components.Schemas["RestErrorMessage"]
	if msg == nil || msg.Value == nil {
		return errors.New("no #/components/schemas/RestErrorMessage")
	}
	for _, name := range []string{"context", "exceptionName"} {
		if p := msg.Value.Properties[name]; p != nil && p.Value != nil {
			p.Value.Nullable = true
		}
	}
	v.errorSchema = &openapi3.Schema{
		Type:       &openapi3.Types{openapi3.TypeObject},
		Required:   []string{"errors"},
		Properties: openapi3.Schemas{"errors": &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: msg}}},
	}
	seen := map[*openapi3.Schema]bool{}
	for _, ref := range v.doc.Components.Schemas {
		clearLinksWriteOnly(ref, seen)
	}
	return nil
}

func clearLinksWriteOnly(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	for name, p := range s.Properties {
		if name == "links" && p.Value != nil {
			p.Value.WriteOnly = false
		}
		clearLinksWriteOnly(p, seen)
	}
	clearLinksWriteOnly(s.Items, seen)
	for _, group := range [][]*openapi3.SchemaRef{s.AllOf, s.OneOf, s.AnyOf} {
		for _, sub := range group {
			clearLinksWriteOnly(sub, seen)
		}
	}
}

// specPath maps a served path to the description's path, reporting false for paths
// outside this product's API (e.g. /_sandbox/...), which are not validated.
func (v *Validator) specPath(p string) (string, bool) {
	switch v.product {
	case ProductCloud:
		if !strings.HasPrefix(p, "/2.0/") {
			return "", false
		}
		return strings.TrimPrefix(p, "/2.0"), true
	default:
		if !strings.HasPrefix(p, "/rest/") {
			return "", false
		}
		p = strings.TrimPrefix(p, "/rest")
		// Data Center serves /1.0 and /latest alike; the description lists /latest.
		for _, api := range []string{"/api/", "/build-status/", "/access-tokens/", "/required-builds/"} {
			if strings.HasPrefix(p, api+"1.0/") {
				p = api + "latest/" + strings.TrimPrefix(p, api+"1.0/")
			}
		}
		return p, true
	}
}

// route finds the operation for req; ok is false when req is outside the product's API.
func (v *Validator) route(req *http.Request) (in *openapi3filter.RequestValidationInput, ok bool, err error) {
	path, ok := v.specPath(req.URL.EscapedPath())
	if !ok {
		return nil, false, nil
	}
	clone := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = "", ""
	if u.RawPath != "" {
		u.RawPath = path
		unescaped, err := url.PathUnescape(path)
		if err != nil {
			return nil, true, err
		}
		u.Path = unescaped
	} else {
		u.Path = path
	}
	clone.URL = &u
	clone.Host = ""
	r, params, err := v.router.FindRoute(clone)
	if err != nil {
		return nil, true, fmt.Errorf("%s %s: not in the %s description: %w", req.Method, req.URL.Path, v.product, err)
	}
	return &openapi3filter.RequestValidationInput{
		Request:    clone,
		PathParams: params,
		Route:      r,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}, true, nil
}

// ValidateRequest checks method, path, parameters and body of req; body is the raw
// request body (nil for none). Requests outside the product's API pass.
func (v *Validator) ValidateRequest(req *http.Request, body []byte) error {
	in, ok, err := v.route(req)
	if !ok || err != nil {
		return err
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		in.Request.Body = http.NoBody
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s request %s %s: %w", v.product, req.Method, req.URL.Path, err)
	}
	return nil
}

// ValidateResponse checks resp (with its raw body) against the operation req was routed
// to. A status the description does not list must still carry the product's error body
// when it is an error.
func (v *Validator) ValidateResponse(req *http.Request, resp *http.Response, body []byte) error {
	in, ok, err := v.route(req)
	if !ok || err != nil {
		return err
	}
	op := in.Route.Operation
	// A default response describes errors (Cloud's /user/emails documents nothing
	// else): it is no schema for a success the operation does not list.
	documented := op != nil && op.Responses != nil &&
		(op.Responses.Status(resp.StatusCode) != nil || (op.Responses.Default() != nil && resp.StatusCode >= 400))
	if !documented {
		if resp.StatusCode >= 400 {
			return v.validateErrorBody(req, resp, body)
		}
		return nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s response %d to %s %s: %w", v.product, resp.StatusCode, req.Method, req.URL.Path, err)
	}
	return nil
}

func (v *Validator) validateErrorBody(req *http.Request, resp *http.Response, body []byte) error {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return fmt.Errorf("%s response %d to %s %s: error body is %q, not JSON", v.product, resp.StatusCode, req.Method, req.URL.Path, resp.Header.Get("Content-Type"))
	}
	value, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("%s response %d to %s %s: %w", v.product, resp.StatusCode, req.Method, req.URL.Path, err)
	}
	if err := v.errorSchema.VisitJSON(value, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s response %d to %s %s: not the product's error body: %w", v.product, resp.StatusCode, req.Method, req.URL.Path, err)
	}
	return nil
}

func decodeJSON(body []byte) (any, error) {
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	return value, nil
}

// Operation is the description's operation at path (as the description writes it:
// Cloud without /2.0, Data Center as /api/latest/...) and method, or nil when the
// description has none.
func (v *Validator) Operation(method, path string) *openapi3.Operation {
	item := v.doc.Paths.Value(path)
	if item == nil {
		return nil
	}
	return item.GetOperation(strings.ToUpper(method))
}
