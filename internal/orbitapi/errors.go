package orbitapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// APIError is a non-2xx answer of orbit-server: {"error":{"code","message","field"}}.
type APIError struct {
	StatusCode int    // HTTP status
	Code       string // machine-readable code, e.g. "not_found", "conflict", "invalid_argument"
	Message    string // human-readable message from the server (secrets of the request masked)
	Field      string // the request field the error is about, when there is one
	// ExistingID is, on a 409 about a name or the default, the id of the object in
	// the way when the key can read it.
	ExistingID string
	RequestID  string // X-Request-Id of the answer, for correlating with server logs

	Method string
	Path   string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "orbit API %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %q)", e.Field)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

// IsNotFound reports whether orbit-server itself said the object does not exist (or
// is not visible to the key): status 404 with orbit's body {"error":{"code":"not_found"}}.
// A 404 from anything else (a proxy, a wrong path, another service) is not one: it
// says nothing about the object. Deciding that an object was deleted needs more (the
// key must be able to read the object's space); see the provider's read helper.
func IsNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound && apiErr.Code == CodeNotFound
}

// Error codes of orbit-server (API.md).
const (
	CodeNotFound             = "not_found"
	CodeConflict             = "conflict"
	CodeInvalidArgument      = "invalid_argument"
	CodePermissionDenied     = "permission_denied"
	CodeUnauthenticated      = "unauthenticated"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodePreconditionFailed   = "precondition_failed"
)

// IsPreconditionFailed reports whether err is orbit-server's 412: the If-Match of a
// write named another version than the stored one.
func IsPreconditionFailed(err error) bool { return hasStatus(err, http.StatusPreconditionFailed) }

// IsConflict reports whether err is an *APIError with status 409.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthenticated reports whether err is an *APIError with status 401.
func IsUnauthenticated(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsPermissionDenied reports whether err is an *APIError with status 403.
func IsPermissionDenied(err error) bool { return hasStatus(err, http.StatusForbidden) }

func hasStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

// maxErrorText bounds how much of a non-JSON error body (a proxy's HTML page, say)
// goes into the message.
const maxErrorText = 256

func newAPIError(method, path string, resp *http.Response, payload []byte, secrets []string) *APIError {
	apiErr := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  resp.Header.Get("X-Request-Id"),
		Method:     method,
		Path:       path,
	}
	var envelope apiwire.Error
	if err := json.Unmarshal(payload, &envelope); err == nil && (envelope.Error.Code != "" || envelope.Error.Message != "") {
		apiErr.Code = envelope.Error.Code
		apiErr.Message = envelope.Error.Message
		apiErr.Field = envelope.Error.Field
		apiErr.ExistingID = envelope.Error.ExistingID
	} else {
		text := strings.TrimSpace(string(payload))
		if len(text) > maxErrorText {
			text = text[:maxErrorText]
			for !utf8.ValidString(text) {
				text = text[:len(text)-1]
			}
			text += "…"
		}
		if text == "" {
			text = http.StatusText(resp.StatusCode)
		}
		apiErr.Message = text
	}
	// The server never echoes credentials; mask them anyway in case something between
	// us and it does. Field is left alone: it names a request field, never a value, and
	// the provider needs it intact to attach the diagnostic to the attribute.
	apiErr.Message = redact(apiErr.Message, secrets)
	return apiErr
}
