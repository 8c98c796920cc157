// Package apiwire holds the JSON bodies of orbit-server's management API, once: the
// server (internal/server/api) decodes and encodes them, the Go client
// (internal/orbitapi) aliases them, and the demo and end-to-end code use them.
// internal/server/api/openapi.json describes them; a test in internal/server
// (TestWireTypesMatchOpenAPI) holds each type to its schema. It imports nothing of
// the project.
package apiwire

import (
	"encoding/json"
	"time"
)

// Time is a timestamp as the API writes it: RFC 3339 in UTC, whole seconds
// ("2026-01-02T15:04:05Z"). It reads any RFC 3339 value.
type Time struct{ time.Time }

// At is t on the wire.
func At(t time.Time) Time { return Time{t} }

// MarshalJSON writes t in UTC to the second.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON reads an RFC 3339 string; null leaves t unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// Page is one page of every list answer (SpaceList, StackList, ...).
type Page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// Status is the body of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"`
	// Version is the server's build (a semantic version, or dev).
	Version string `json:"version"`
}

// Error is the body of every non-2xx answer of the API.
type Error struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is Error's one member.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// ExistingID: on a 409, the id of the object in the way, when the caller can read it.
	ExistingID string `json:"existing_id,omitempty"`
}

// WebhookAnswer is the receiver's answer to a delivery.
type WebhookAnswer struct {
	Status     string `json:"status"`
	DeliveryID string `json:"delivery_id,omitempty"`
}
