package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func response(status int, body string) *http.Response {
	h := http.Header{}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	hook := `{"type":"webhook_subscription","uuid":"{a}","url":"https://x.example.com","subject_type":"repository","subject":{"type":"repository"},"active":true,"created_at":"2026-01-01T00:00:00Z","events":["repo:push"],"secret_set":true,"skip_cert_verification":false}`
	tests := []struct {
		name    string
		product Product
		method  string
		path    string
		status  int
		body    string
		wantErr string
	}{
		{"cloud hook fits", ProductCloud, "GET", "/2.0/repositories/w/r/hooks/%7Ba%7D", 200, hook, ""},
		{"cloud hook with an unknown event", ProductCloud, "GET", "/2.0/repositories/w/r/hooks/%7Ba%7D", 200, strings.Replace(hook, "repo:push", "repo:refs_changed", 1), "events"},
		{"cloud hook without type", ProductCloud, "GET", "/2.0/repositories/w/r/hooks/%7Ba%7D", 200, strings.Replace(hook, `"type":"webhook_subscription",`, "", 1), "type"},
		{"cloud page with an extra field", ProductCloud, "GET", "/2.0/repositories/w/r/hooks", 200, `{"values":[],"pagelen":10,"page":1,"size":0,"extra":1}`, "extra"},
		{"cloud error body", ProductCloud, "GET", "/2.0/repositories/w/r/hooks/%7Ba%7D", 404, `{"type":"error","error":{"message":"nope"}}`, ""},
		{"cloud error body of the wrong shape", ProductCloud, "GET", "/2.0/repositories/w/r/hooks/%7Ba%7D", 404, `{"message":"nope"}`, "type"},
		{"cloud undocumented 429 with Cloud's error body", ProductCloud, "GET", "/2.0/user", 429, `{"type":"error","error":{"message":"slow down"}}`, ""},
		{"cloud undocumented 503 with a DC body", ProductCloud, "GET", "/2.0/user", 503, `{"errors":[{"message":"x"}]}`, "error body"},
		{"cloud path not in the description", ProductCloud, "GET", "/2.0/nope/nope", 200, `{}`, "not in the cloud description"},
		{"control path is not checked", ProductCloud, "GET", "/_sandbox/deliveries", 200, `not json`, ""},
		{"dc webhook fits", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/webhooks", 200, `{"id":1,"name":"n","url":"https://x","events":["pr:opened"],"active":true,"configuration":{}}`, ""},
		{"dc webhook with events as a string", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/webhooks", 200, `{"id":1,"events":"pr:opened"}`, "events"},
		{"dc 1.0 path maps to latest", ProductDataCenter, "GET", "/rest/api/1.0/projects/P/repos/r", 200, `{"slug":"r","id":1,"links":{"self":[{"href":"x"}]},"project":{"key":"P","links":{}}}`, ""},
		{"dc error with null context", ProductDataCenter, "GET", "/rest/api/latest/projects/P", 401, `{"errors":[{"context":null,"message":"m","exceptionName":null}]}`, ""},
		{"dc undocumented 429 must be the DC error body", ProductDataCenter, "GET", "/rest/api/latest/projects/P", 429, `{"type":"error","error":{"message":"x"}}`, "errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Cloud(t)
			if tt.product == ProductDataCenter {
				v = DataCenter(t)
			}
			req := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
			err := v.ValidateResponse(req, response(tt.status, tt.body), []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want an error mentioning %q, got none", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		product Product
		method  string
		path    string
		body    string
		wantErr bool
	}{
		{"cloud status with type", ProductCloud, "POST", "/2.0/repositories/w/r/commit/abc/statuses/build", `{"type":"build","key":"k","state":"FAILED","url":"https://x"}`, false},
		{"cloud status with a DC state", ProductCloud, "POST", "/2.0/repositories/w/r/commit/abc/statuses/build", `{"type":"build","key":"k","state":"CANCELLED","url":"https://x"}`, true},
		{"cloud unknown method", ProductCloud, "PATCH", "/2.0/repositories/w/r/hooks", `{}`, true},
		{"dc build status", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/commits/abc/builds", `{"key":"k","state":"FAILED","url":"https://x"}`, false},
		{"dc build status without url", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/commits/abc/builds", `{"key":"k","state":"FAILED"}`, true},
		{"dc test webhookId must be an integer", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/webhooks/test?webhookId=abc", ``, true},
		{"dc test with a url", ProductDataCenter, "POST", "/rest/api/latest/projects/P/repos/r/webhooks/test?url=https%3A%2F%2Fx", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Cloud(t)
			if tt.product == ProductDataCenter {
				v = DataCenter(t)
			}
			req := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			err := v.ValidateRequest(req, []byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// recordingTB captures Errorf calls so the RoundTripper's reports can be asserted.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func TestRoundTripperReportsMismatches(t *testing.T) {
	t.Parallel()
	Cloud(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/2.0/user" {
			_, _ = io.WriteString(w, `{"type":"user","uuid":"{u}","display_name":"D"}`)
			return
		}
		_, _ = io.WriteString(w, `{"values":"not a list"}`)
	}))
	t.Cleanup(srv.Close)
	rec := &recordingTB{TB: t}
	client := &http.Client{Transport: RoundTripper(rec, nil)}
	for _, path := range []string{"/2.0/user", "/2.0/repositories/w/r/hooks", "/elsewhere"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) == 0 {
			t.Fatalf("%s: body not handed on to the caller", path)
		}
	}
	if len(rec.errors) != 1 {
		t.Fatalf("want exactly one contract report (the bad hook page), got %d", len(rec.errors))
	}
}
