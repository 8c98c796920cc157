package auth

import (
	"net/http"
	"strconv"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
)

// Defaults of the failed-authentication limit (Config.AuthFailureBurst and
// AuthFailureInterval): 20 failures at once, then one more every 3 seconds.
const (
	DefaultAuthFailureBurst    = 20
	DefaultAuthFailureInterval = 3 * time.Second
)

// NewLimiter limits failed authentications per client address (httpguard's
// FailureLimiter, the one algorithm the webhook receiver's signature failures use
// too): burst failures, then one per interval (0: the defaults). A client without
// tokens is answered 429 before its key is even looked at.
func NewLimiter(burst int, interval time.Duration) *httpguard.FailureLimiter {
	if burst <= 0 {
		burst = DefaultAuthFailureBurst
	}
	if interval <= 0 {
		interval = DefaultAuthFailureInterval
	}
	return httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: burst, Interval: interval})
}

// RateLimited is the 429 for a client that failed authentication too often.
func RateLimited(w http.ResponseWriter, wait time.Duration) *httpx.Error {
	seconds := httpguard.SetRetryAfter(w, wait)
	return &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited,
		Message: "too many failed authentications from this address; retry after " + strconv.Itoa(seconds) + "s"}
}
