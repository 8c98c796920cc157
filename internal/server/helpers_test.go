package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// client calls one server with one key and records every response body, so tests can
// assert that no secret ever came back.
type client struct {
	t       testing.TB
	base    string
	key     string
	mu      *sync.Mutex
	bodies  *[]string
	headers http.Header
	// check, when set, sees every exchange (e.g. to validate it against openapi.json).
	check func(req *http.Request, status int, header http.Header, body []byte)
}

func newClient(t testing.TB, inst *servertest.Instance, key string) *client {
	return &client{t: t, base: inst.URL, key: key, mu: &sync.Mutex{}, bodies: &[]string{}}
}

// as returns a client with another key sharing the same response record.
func (c *client) as(key string) *client {
	cp := *c
	cp.key = key
	return &cp
}

// do sends body (a string is sent raw, anything else as JSON) and returns the status
// and the response body.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.check != nil {
		c.check(req, resp.StatusCode, resp.Header, raw)
	}
	c.mu.Lock()
	*c.bodies = append(*c.bodies, string(raw))
	c.mu.Unlock()
	return resp.StatusCode, raw
}

// must asserts the status and decodes the answer into a map.
func (c *client) must(method, path string, body any, want int) map[string]any {
	c.t.Helper()
	status, raw := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return out
}

// wantError asserts an API.md error answer with status, code and field.
func (c *client) wantError(method, path string, body any, status int, code, field string) string {
	c.t.Helper()
	got, raw := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, raw)
	}
	var e apiwire.Error
	if err := json.Unmarshal(raw, &e); err != nil {
		c.t.Fatalf("%s %s: error body %q: %v", method, path, raw, err)
	}
	if e.Error.Code != code || e.Error.Field != field {
		c.t.Fatalf("%s %s: error code=%q field=%q, want code=%q field=%q (message %q)", method, path, e.Error.Code, e.Error.Field, code, field, e.Error.Message)
	}
	if e.Error.Message == "" {
		c.t.Fatalf("%s %s: empty error message", method, path)
	}
	return e.Error.Message
}

func (c *client) responses() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), *c.bodies...)
}

func cloudBody(name, spaceID, token string) map[string]any {
	return map[string]any{
		"provider": "bitbucket_cloud", "name": name, "space_id": spaceID,
		"email": "dev@example.com", "api_token": token, "labels": []string{"team:platform"},
	}
}

func dcBody(name, spaceID, token string) map[string]any {
	return map[string]any{
		"provider": "bitbucket_datacenter", "name": name, "space_id": spaceID,
		"api_host": "https://bitbucket.example.com", "username": "orbit-bot", "access_token": token,
	}
}

// with returns a copy of body with the given fields changed (nil deletes).
func with(body map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// fakeChecker stands in for Bitbucket: a credential is valid unless listed in
// rejections; it records what it was asked.
type fakeChecker struct {
	mu         sync.Mutex
	rejections map[string]server.CredentialCheck
	calls      []checkCall
}

type checkCall struct {
	integration store.Integration
	credential  string
}

func (f *fakeChecker) Check(_ context.Context, in store.Integration, credential string) server.CredentialCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, checkCall{in, credential})
	if res, ok := f.rejections[credential]; ok {
		return res
	}
	return server.CredentialCheck{Valid: true, Reason: server.CheckOK, Message: "credentials accepted"}
}

func (f *fakeChecker) lastCall(t testing.TB) checkCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("credential checker was not called")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeChecker) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
