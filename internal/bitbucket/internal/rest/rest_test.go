package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

func TestParseErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, msg, exception string
	}{
		{"cloud", `{"type":"error","error":{"message":"Repository not found"}}`, "Repository not found", ""},
		{"cloud with detail", `{"type":"error","error":{"message":"Bad request","detail":"key too long"}}`, "Bad request: key too long", ""},
		{"datacenter", `{"errors":[{"context":null,"message":"You are not permitted to access this resource","exceptionName":"com.atlassian.bitbucket.AuthorisationException"}]}`,
			"You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException"},
		{"datacenter two", `{"errors":[{"message":"a"},{"message":"b"}]}`, "a; b", ""},
		{"html", `<html>bad gateway</html>`, "", ""},
		{"empty", ``, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, exc := ParseErrorMessage([]byte(tt.body))
			if msg != tt.msg || exc != tt.exception {
				t.Fatalf("got %q, %q; want %q, %q", msg, exc, tt.msg, tt.exception)
			}
		})
	}
}

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "ftp://x", "bitbucket.example.com", "https://u:p@host", "https://host?x=1"} {
		if _, err := ParseBaseURL(bad); err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", bad)
		}
	}
	u, err := ParseBaseURL("https://example.com/bitbucket/")
	if err != nil || u.String() != "https://example.com/bitbucket" {
		t.Fatalf("got %v, %v", u, err)
	}
}

func newClient(t *testing.T, base string) *Client {
	t.Helper()
	c, err := New(bitbucket.ProductCloud, bitbucket.Config{BaseURL: base, UserAgent: "test", Retry: bitbucket.RetryPolicy{}},
		func(h http.Header) { h.Set("Authorization", "Bearer sekret-token") }, "sekret-token")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLinkToAnotherOriginRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(other.Close)
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(own.Close)

	c := newClient(t, own.URL)
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, URL: other.URL + "/2.0/x"})
	if err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("err = %v, want refusal", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the credential was sent to another origin")
	}
}

func TestRedirectToAnotherOriginRefused(t *testing.T) {
	t.Parallel()
	gotAuth := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gotAuth <- r.Header.Get("Authorization") }))
	t.Cleanup(other.Close)
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}))
	t.Cleanup(own.Close)

	c := newClient(t, own.URL)
	_, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/2.0/user"})
	if err == nil {
		t.Fatal("redirect to another origin was followed")
	}
	if strings.Contains(err.Error(), "sekret-token") {
		t.Fatalf("error leaks the token: %v", err)
	}
	select {
	case <-gotAuth:
		t.Fatal("the other origin was contacted")
	default:
	}
}
