package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"sort"
	"sync"
)

// HandlerFunc handles one request of a route; a returned error is written in the
// API.md error shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one entry of the route table that a component hands to the API, which
// serves every route (e.g. the receiver's public webhook endpoints).
type Route struct {
	Method string
	Path   string
	// Resource names the object in 404 messages.
	Resource string
	Handle   HandlerFunc
	// MaxBodyBytes caps the route's request body instead of MaxBodyBytes (0: that).
	MaxBodyBytes int64
}

// RequestInfo collects what the access log needs from deeper layers.
type RequestInfo struct {
	RequestID string
	KeyID     string
	// InternalErr is logged (not returned) for 500 answers. It never holds secrets:
	// only sealed values reach the store.
	InternalErr error
}

type requestInfoKey struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// InfoFrom is the request information of ctx (a throw-away one outside a request).
func InfoFrom(ctx context.Context) *RequestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*RequestInfo); ok {
		return info
	}
	return &RequestInfo{}
}

// SaneRequestID matches an X-Request-Id a client may choose.
var SaneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// NewRequestID is a fresh random request id.
func NewRequestID() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// Inflight tracks the requests being served, so that a drain that times out can say
// what it dropped.
type Inflight struct {
	mu       sync.Mutex
	requests map[string]string // request id -> "METHOD route"
}

// Add records a request.
func (f *Inflight) Add(id, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == nil {
		f.requests = map[string]string{}
	}
	f.requests[id] = what
}

// Remove forgets a request.
func (f *Inflight) Remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.requests, id)
}

// Snapshot lists the requests in flight as "request_id METHOD route", sorted.
func (f *Inflight) Snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.requests))
	for id, what := range f.requests {
		out = append(out, id+" "+what)
	}
	sort.Strings(out)
	return out
}
