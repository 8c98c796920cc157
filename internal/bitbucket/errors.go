package bitbucket

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an answer from Bitbucket with an unexpected status. Message is
// Bitbucket's own message, parsed from the Cloud body {"type":"error","error":
// {"message","detail"}} or the Data Center body {"errors":[{"message"}]}; it falls
// back to the status text. It never contains the request's credentials or secrets.
type APIError struct {
	Product    Product
	Method     string
	Path       string // escaped path, without query
	StatusCode int
	Message    string
	// Exception is Data Center's exceptionName, which tells a bad token
	// (...IncorrectPasswordAuthenticationException) from a missing permission
	// (...AuthorisationException): both are 401 there. Empty for Cloud.
	Exception string
	// RetryAfter is the wait Bitbucket asked for (429/503), zero when it gave none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bitbucket %s: %s %s: %d %s", e.Product, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" && e.Message != http.StatusText(e.StatusCode) {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// AsAPIError returns the *APIError in err's chain, if any.
func AsAPIError(err error) (*APIError, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr, true
	}
	return nil, false
}

func hasStatus(err error, code int) bool {
	apiErr, ok := AsAPIError(err)
	return ok && apiErr.StatusCode == code
}

// IsNotFound reports a 404 (repository, hook, build status or commit missing).
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports a 401: the credential was not accepted (Data Center also
// answers 401 when a valid token lacks a permission).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports a 403: authenticated, but the token lacks a scope or permission.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsRateLimited reports a 429 that retries did not get past (or a POST, which is never
// retried).
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// ValidationError is bad input caught before any request is sent. Field names the
// request field, as in the JSON body.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }
