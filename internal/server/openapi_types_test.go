package server_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// wireSchemas pairs each wire type of apiwire with its schema in openapi.json.
// Inputs are request bodies: a required property must be a field that is always
// sent. The others are answers: exactly the fields that are always written are
// required.
var wireSchemas = []struct {
	schema string
	value  any
	input  bool
}{
	{"Status", apiwire.Status{}, false},
	{"Error", apiwire.Error{}, false},
	{"WebhookAnswer", apiwire.WebhookAnswer{}, false},
	{"SpaceInput", apiwire.SpaceRequest{}, true},
	{"Space", apiwire.Space{}, false},
	{"SpaceList", apiwire.Page[apiwire.Space]{}, false},
	{"Whoami", apiwire.Whoami{}, false},
	{"RoleBinding", apiwire.RoleBinding{}, false},
	{"APIKeyInput", apiwire.APIKeyRequest{}, true},
	{"APIKey", apiwire.APIKey{}, false},
	{"APIKeyList", apiwire.Page[apiwire.APIKey]{}, false},
	{"StackInput", apiwire.StackRequest{}, true},
	{"Stack", apiwire.Stack{}, false},
	{"StackList", apiwire.Page[apiwire.Stack]{}, false},
	{"IntegrationInput", apiwire.IntegrationRequest{}, true},
	{"Integration", apiwire.Integration{}, false},
	{"IntegrationList", apiwire.Page[apiwire.Integration]{}, false},
	{"Webhook", apiwire.IntegrationWebhook{}, false},
	{"ValidateResult", apiwire.Validation{}, false},
	{"StackVCSBindingInput", apiwire.StackVCSBindingRequest{}, true},
	{"StackVCSBinding", apiwire.StackVCSBinding{}, false},
	{"StackVCSBindingList", apiwire.Page[apiwire.StackVCSBinding]{}, false},
	{"Run", apiwire.Run{}, false},
	{"RunList", apiwire.Page[apiwire.Run]{}, false},
	{"RunResultInput", apiwire.RunResultRequest{}, true},
	{"Health", apiwire.Health{}, false},
	{"Delivery", apiwire.Delivery{}, false},
	{"DeliveryWithBody", apiwire.DeliveryWithBody{}, false},
	{"DeliveryList", apiwire.Page[apiwire.Delivery]{}, false},
	{"RunPageLink", apiwire.RunPageLink{}, false},
	{"VCSAgentPoolInput", apiwire.VCSAgentPoolRequest{}, true},
	{"VCSAgentPool", apiwire.VCSAgentPool{}, false},
	{"VCSAgentPoolList", apiwire.Page[apiwire.VCSAgentPool]{}, false},
	{"ConnectedAgent", apiwire.ConnectedAgent{}, false},
	{"VCSAgentPoolTokenInput", apiwire.VCSAgentPoolTokenRequest{}, true},
	{"VCSAgentPoolTokenRotateInput", apiwire.VCSAgentPoolTokenRotateRequest{}, true},
	{"VCSAgentPoolToken", apiwire.VCSAgentPoolToken{}, false},
	{"VCSAgentPoolTokenList", apiwire.Page[apiwire.VCSAgentPoolToken]{}, false},
	{"VCSAgentPoolTokenRotation", apiwire.VCSAgentPoolTokenRotation{}, false},
}

// TestWireTypesMatchOpenAPI holds the Go wire types (one definition, used by the
// server, internal/orbitapi and the demo) to the document: the same property names,
// the same required set, the same JSON types, nullability where a pointer is always
// written. Every schema of the document has its type.
func TestWireTypesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	paired := map[string]bool{}
	for _, w := range wireSchemas {
		ref, ok := doc.Components.Schemas[w.schema]
		if !ok || ref.Value == nil {
			t.Errorf("openapi.json has no schema %s", w.schema)
			continue
		}
		paired[w.schema] = true
		checkWireType(t, w.schema, reflect.TypeOf(w.value), ref.Value, w.input)
	}
	for name := range doc.Components.Schemas {
		if !paired[name] {
			t.Errorf("schema %s has no Go wire type in this test", name)
		}
	}
}

type wireField struct {
	name      string
	typ       reflect.Type
	omitEmpty bool
}

func wireFields(t reflect.Type) []wireField {
	var out []wireField
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, wireFields(f.Type)...) // encoding/json flattens it
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, wireField{name: name, typ: f.Type, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

var wireTimeType = reflect.TypeFor[apiwire.Time]()

func checkWireType(t *testing.T, where string, typ reflect.Type, schema *openapi3.Schema, input bool) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := ""
	switch {
	case typ == wireTimeType:
		want = openapi3.TypeString
		if schema.Format != "date-time" {
			t.Errorf("%s: a time is format date-time in the document, got %q", where, schema.Format)
		}
	case typ.Kind() == reflect.String:
		want = openapi3.TypeString
	case typ.Kind() == reflect.Bool:
		want = openapi3.TypeBoolean
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		want = openapi3.TypeInteger
	case typ.Kind() == reflect.Slice:
		want = openapi3.TypeArray
	case typ.Kind() == reflect.Struct:
		want = openapi3.TypeObject
	default:
		t.Errorf("%s: Go type %s has no JSON type in this test", where, typ)
		return
	}
	if !schema.Type.Is(want) {
		t.Errorf("%s: Go type %s is a JSON %s, the document says %v", where, typ, want, schema.Type.Slice())
		return
	}
	switch want {
	case openapi3.TypeArray:
		if schema.Items == nil || schema.Items.Value == nil {
			t.Errorf("%s: array without items", where)
			return
		}
		checkWireType(t, where+"[]", typ.Elem(), schema.Items.Value, input)
	case openapi3.TypeObject:
		checkWireObject(t, where, typ, schema, input)
	}
}

func checkWireObject(t *testing.T, where string, typ reflect.Type, schema *openapi3.Schema, input bool) {
	t.Helper()
	fields := wireFields(typ)
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
		prop, ok := schema.Properties[f.name]
		if !ok || prop.Value == nil {
			t.Errorf("%s: field %s (%s.%s) is not in the document", where, f.name, typ.Name(), f.name)
			continue
		}
		required := slices.Contains(schema.Required, f.name)
		switch {
		case input && required && f.omitEmpty:
			t.Errorf("%s.%s: required in the document, but the Go type leaves it out when empty", where, f.name)
		case !input && required == f.omitEmpty:
			t.Errorf("%s.%s: required=%v in the document, omitempty=%v in the Go type (an answer always writes exactly its required fields)",
				where, f.name, required, f.omitEmpty)
		}
		// A pointer an answer always writes can be null: the document must say so.
		if !input && f.typ.Kind() == reflect.Pointer && !f.omitEmpty && !prop.Value.Nullable {
			t.Errorf("%s.%s: the Go type writes null, the document does not allow it", where, f.name)
		}
		if !input && prop.Value.Nullable && f.typ.Kind() != reflect.Pointer {
			t.Errorf("%s.%s: the document allows null, the Go type never writes it", where, f.name)
		}
		checkWireType(t, where+"."+f.name, f.typ, prop.Value, input)
	}
	for name := range schema.Properties {
		if !slices.Contains(names, name) {
			t.Errorf("%s: property %s is not a field of %s", where, name, typ)
		}
	}
	for _, name := range schema.Required {
		if !slices.Contains(names, name) {
			t.Errorf("%s: required property %s is not a field of %s", where, name, typ)
		}
	}
}
