package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Error codes of API.md.
const (
	codeInvalidArgument  = "invalid_argument"
	codeUnauthenticated  = "unauthenticated"
	codePermissionDenied = "permission_denied"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeInternal         = "internal"
	codeRateLimited      = "rate_limited"
)

// apiError is an error meant for the caller; its message must never carry a secret.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
	// ExistingID names the object a conflict is with, when the caller can read it.
	ExistingID string
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

func invalidArg(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidArgument, Message: fmt.Sprintf(format, args...), Field: field}
}

func errUnauthenticated(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Message: msg}
}

func errPermission(msg string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: codePermissionDenied, Message: msg}
}

func errNotFound(what string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: what + " not found"}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func errConflict(field, msg string) *apiError {
	return &apiError{Status: http.StatusConflict, Code: codeConflict, Message: msg, Field: field}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// ExistingID: on a 409, the id of the object in the way, when the caller can read it.
	ExistingID string `json:"existing_id,omitempty"`
}

// toAPIError maps any handler error to what the caller sees. Unknown errors become a
// generic 500 so that nothing internal (or secret) leaks into a response.
func toAPIError(err error, notFoundWhat string) *apiError {
	var ae *apiError
	var ce *store.ConflictError
	var qe *store.QuotaError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &qe) && qe.Field != "":
		return invalidArg(qe.Field, "%s", qe.Reason)
	case errors.As(err, &qe):
		return errConflict("", qe.Reason)
	case errors.As(err, &ce):
		return errConflict(ce.Field, ce.Reason)
	case errors.Is(err, store.ErrConflict):
		return errConflict("", "conflict")
	case errors.Is(err, store.ErrBadPageToken):
		return invalidArg("page_token", "page_token was not issued by this server or is corrupt")
	case errors.Is(err, store.ErrNotFound):
		return errNotFound(notFoundWhat)
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 499, Code: codeInternal, Message: "request canceled"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"}
}

func writeAPIError(w http.ResponseWriter, ae *apiError) {
	writeJSON(w, ae.Status, errorBody{Error: errorDetail{Code: ae.Code, Message: ae.Message, Field: ae.Field, ExistingID: ae.ExistingID}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
