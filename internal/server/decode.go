package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxBodyBytes caps every request body (API.md).
const maxBodyBytes = 1 << 20

// decodeBody reads one JSON object into dst, rejecting unknown fields, type errors and
// trailing data with a 400 that names the field.
func decodeBody(r *http.Request, dst any) error {
	// Content-Type is not enforced: the body must parse as JSON whatever the header
	// says (curl -d sends application/x-www-form-urlencoded).
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return invalidArg("", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonDecodeError(err)
	}
	if dec.More() {
		return invalidArg("", "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidArg("", "request body must hold exactly one JSON object")
	}
	return nil
}

// readBody reads the whole (capped) body.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeInvalidArgument, Message: "request body is larger than 1 MiB"}
		}
		return nil, invalidArg("", "cannot read request body")
	}
	return raw, nil
}

// jsonDecodeError turns encoding/json errors into a 400 naming the field. The
// messages built here never quote input values, so secrets sent in a wrongly typed
// field do not echo back.
func jsonDecodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalidArg("", "request body must be a JSON object")
		}
		return invalidArg(field, "%s must be of type %s", field, jsonTypeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return invalidArg("", "request body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidArg("", "request body is truncated JSON")
	}
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknownPrefix) {
		field := strings.Trim(strings.TrimPrefix(msg, unknownPrefix), `"`)
		return invalidArg(field, "unknown field %q", field)
	}
	return invalidArg("", "request body is not valid JSON")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "number"
	}
	return kind
}
