package contract

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// RoundTripper returns a transport that validates every request before sending it and
// every response after receiving it, reporting mismatches with t.Errorf. next nil means
// http.DefaultTransport.
func (v *Validator) RoundTripper(t testing.TB, next http.RoundTripper) http.RoundTripper {
	return &checkingTransport{t: t, next: next, pick: func(*http.Request) *Validator { return v }}
}

// RoundTripper validates both products: /2.0/... against Cloud, /rest/... against Data
// Center; other paths pass through unchecked. Both descriptions are loaded here, once
// per test binary, so that loading them never runs inside a request and its deadline.
func RoundTripper(t testing.TB, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	cloud, dc := Cloud(t), DataCenter(t)
	return &checkingTransport{t: t, next: next, pick: func(req *http.Request) *Validator {
		switch p := req.URL.Path; {
		case strings.HasPrefix(p, "/2.0/"):
			return cloud
		case strings.HasPrefix(p, "/rest/"):
			return dc
		}
		return nil
	}}
}

type checkingTransport struct {
	t    testing.TB
	next http.RoundTripper
	pick func(*http.Request) *Validator
}

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := c.next
	if next == nil {
		next = http.DefaultTransport
	}
	v := c.pick(req)
	if v == nil {
		return next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	if err := v.ValidateRequest(req, reqBody); err != nil {
		c.t.Errorf("contract: %v", err)
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err := v.ValidateResponse(req, resp, respBody); err != nil {
		c.t.Errorf("contract: %v", err)
	}
	return resp, nil
}
