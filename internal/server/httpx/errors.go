// Package httpx is the HTTP plumbing the API and the webhook receiver share: the
// error shape of API.md and its mapping from store errors, strict JSON decoding,
// the per-request information the access log reads, the client-address rule, the
// route type and the in-flight request tracker. It owns no route and no state of
// the server. It may import only the standard library, apiwire and store.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Error codes of API.md.
const (
	CodeInvalidArgument  = "invalid_argument"
	CodeUnauthenticated  = "unauthenticated"
	CodePermissionDenied = "permission_denied"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeInternal         = "internal"
	CodeRateLimited      = "rate_limited"
	// CodeUnavailable: something the request needs (Bitbucket) could not be asked;
	// the same request may succeed later (503, with Retry-After).
	CodeUnavailable = "unavailable"
	// A conditional write whose If-Match names another version than the stored one.
	CodePreconditionFailed = "precondition_failed"
	// A write that must be conditional and came without If-Match.
	CodePreconditionRequired = "precondition_required"
)

// Error is an error meant for the caller; its message must never carry a secret.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// ExistingID names the object a conflict is with, when the caller can read it.
	ExistingID string
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// InvalidArg is a 400 naming the field.
func InvalidArg(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...), Field: field}
}

// Unauthenticated is a 401.
func Unauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: msg}
}

// Permission is a 403.
func Permission(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodePermissionDenied, Message: msg}
}

// NotFound is the 404 of what.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

// IsNotFound reports the store's not-found.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Conflict is a 409 naming the field.
func Conflict(field, msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: msg, Field: field}
}

// ToError maps any handler error to what the caller sees. Unknown errors become a
// generic 500 so that nothing internal (or secret) leaks into a response.
func ToError(err error, notFoundWhat string) *Error {
	var ae *Error
	var ce *store.ConflictError
	var qe *store.QuotaError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &qe) && qe.Field != "":
		return InvalidArg(qe.Field, "%s", qe.Reason)
	case errors.As(err, &qe):
		return Conflict("", qe.Reason)
	case errors.As(err, &ce):
		return Conflict(ce.Field, ce.Reason)
	case errors.Is(err, store.ErrConflict):
		return Conflict("", "conflict")
	case errors.Is(err, store.ErrVersionMismatch):
		return &Error{Status: http.StatusPreconditionFailed, Code: CodePreconditionFailed,
			Message: "the " + notFoundWhat + " changed since the version named in If-Match was read (it was replaced, or deleted and made again); read it again and decide"}
	case errors.Is(err, store.ErrBadPageToken):
		return InvalidArg("page_token", "page_token was not issued by this server or is corrupt")
	case errors.Is(err, store.ErrNotFound):
		return NotFound(notFoundWhat)
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Code: CodeInternal, Message: "request canceled"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// Unavailable is a 503: a dependency (Bitbucket) could not be asked; try again
// after retryAfter seconds.
func Unavailable(msg string, retryAfter int) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg, RetryAfter: retryAfter}
}

// WriteError writes ae in the API.md error shape.
func WriteError(w http.ResponseWriter, ae *Error) {
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
	WriteJSON(w, ae.Status, apiwire.Error{Error: apiwire.ErrorDetail{Code: ae.Code, Message: ae.Message, Field: ae.Field, ExistingID: ae.ExistingID}})
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
