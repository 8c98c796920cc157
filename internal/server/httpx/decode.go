package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes caps every request body (API.md).
const MaxBodyBytes = 1 << 20

// DecodeBody reads one JSON object into dst, rejecting unknown fields, type errors and
// trailing data with a 400 that names the field.
func DecodeBody(r *http.Request, dst any) error {
	// Content-Type is not enforced: the body must parse as JSON whatever the header
	// says (curl -d sends application/x-www-form-urlencoded).
	raw, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return InvalidArg("", "request body must be a JSON object")
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and store it silently.
	if !utf8.Valid(raw) {
		return InvalidArg("", "request body is not valid UTF-8")
	}
	if err := checkKeys(raw, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonDecodeError(err)
	}
	if dec.More() {
		return InvalidArg("", "request body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return InvalidArg("", "request body must hold exactly one JSON object")
	}
	return nil
}

// checkKeys walks the JSON in raw beside the Go type it decodes into and refuses what
// encoding/json lets through: a key given twice in one object (the last would win
// silently) and a key that names a field in another case (`IS_DEFAULT`, which
// encoding/json matches case-insensitively). Both are a 400 naming the field. Syntax
// errors are left to the decoder, which reports them.
func checkKeys(raw []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := walkValue(dec, t, ""); err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return ae
		}
	}
	return nil
}

func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		return walkObject(dec, t, path)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, path string) error {
	fields := map[string]reflect.Type{}
	if t != nil && t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		field := key
		if path != "" {
			field = path + "." + key
		}
		if seen[key] {
			return InvalidArg(field, "field %q is given twice", key)
		}
		seen[key] = true
		var valueType reflect.Type
		if t != nil && t.Kind() == reflect.Map {
			valueType = t.Elem()
		} else if ft, ok := fields[key]; ok {
			valueType = ft
		} else {
			for name := range fields {
				if strings.EqualFold(name, key) {
					return InvalidArg(field, "unknown field %q (field names are case-sensitive: %q)", key, name)
				}
			}
		}
		if err := walkValue(dec, valueType, field); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// ReadBody reads the whole (capped) body.
func ReadBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeInvalidArgument, Message: "request body is larger than 1 MiB"}
		}
		return nil, InvalidArg("", "cannot read request body")
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
			return InvalidArg("", "request body must be a JSON object")
		}
		return InvalidArg(field, "%s must be of type %s", field, jsonTypeName(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return InvalidArg("", "request body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return InvalidArg("", "request body is truncated JSON")
	}
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); strings.HasPrefix(msg, unknownPrefix) {
		field := strings.Trim(strings.TrimPrefix(msg, unknownPrefix), `"`)
		return InvalidArg(field, "unknown field %q", field)
	}
	return InvalidArg("", "request body is not valid JSON")
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
