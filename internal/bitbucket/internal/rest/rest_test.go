package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"absent", "", 0, false},
		{"seconds", "7", 7 * time.Second, true},
		{"zero", "0", 0, true},
		{"negative", "-3", 0, false},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.header != "" {
				h.Set("Retry-After", tt.header)
			}
			got, ok := RetryAfter(h, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("RetryAfter(%q) = %v, %v; want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	withHeader := &http.Response{Header: http.Header{"Retry-After": {"7"}}}
	if got := backoff(time.Millisecond, time.Second, 0, withHeader); got != 7*time.Second {
		t.Fatalf("Retry-After 7 gave backoff %v, want 7s", got)
	}
	noHeader := &http.Response{Header: http.Header{}}
	for attempt := range 12 {
		got := backoff(100*time.Millisecond, 2*time.Second, attempt, noHeader)
		ceiling := min(100*time.Millisecond<<attempt, 2*time.Second)
		if got < ceiling/2 || got > ceiling {
			t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, got, ceiling/2, ceiling)
		}
	}
}

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
