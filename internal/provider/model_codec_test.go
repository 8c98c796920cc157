package provider

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// fillModel gives every field of the model target points to the variant-th of a few
// values of its kind (a value, null, unknown; for sets also empty and two elements).
func fillModel(target any, variant int) {
	v := reflect.ValueOf(target).Elem()
	for i, f := range modelFields(v.Type()) {
		k := variant + i
		var value any
		switch f.kind {
		case fieldString:
			value = []types.String{types.StringValue(fmt.Sprintf("v%d", k)), types.StringNull(), types.StringUnknown(), types.StringValue("")}[k%4]
		case fieldBool:
			value = []types.Bool{types.BoolValue(k%2 == 0), types.BoolNull(), types.BoolUnknown()}[k%3]
		case fieldInt64:
			value = []types.Int64{types.Int64Value(int64(k)), types.Int64Null(), types.Int64Unknown()}[k%3]
		case fieldStringSet:
			value = []types.Set{
				types.SetValueMust(types.StringType, []attr.Value{types.StringValue("b"), types.StringValue("a")}),
				types.SetNull(types.StringType), types.SetUnknown(types.StringType),
				types.SetValueMust(types.StringType, []attr.Value{}),
				types.SetValueMust(types.StringType, []attr.Value{types.StringValue("x"), types.StringUnknown()}),
			}[k%5]
		}
		v.FieldByIndex(f.index).Set(reflect.ValueOf(value))
	}
}

// The codec gives the values the framework's Get and Set give, for every model it
// serves.
func TestModelCodecMatchesFramework(t *testing.T) {
	ctx := context.Background()
	webhookSchema := func() schema.Schema {
		var resp resource.SchemaResponse
		(&repositoryWebhookResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
		return resp.Schema
	}
	for _, tc := range []struct {
		name   string
		schema schema.Schema
		model  func() any
	}{
		{"orbit_bitbucket_repository_webhook", webhookSchema(), func() any { return &repositoryWebhookModel{} }},
		{"orbit_stack", stackSchema(), func() any { return &stackModel{} }},
		{"orbit_stack_vcs_binding", stackVCSBindingSchema(), func() any { return &stackVCSBindingModel{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.schema.Type().TerraformType(ctx)
			for variant := range 20 {
				model := tc.model()
				fillModel(model, variant)

				viaFramework := tfsdk.State{Schema: tc.schema, Raw: tftypes.NewValue(typ, nil)}
				if diags := viaFramework.Set(ctx, model); diags.HasError() {
					t.Fatalf("framework Set: %v", diags)
				}
				raw, diags := modelValue(model, typ)
				if diags.HasError() {
					t.Fatalf("modelValue: %v", diags)
				}
				if !raw.Equal(viaFramework.Raw) {
					t.Fatalf("variant %d: modelValue = %s, framework Set = %s", variant, raw, viaFramework.Raw)
				}

				fromFramework, fromCodec := tc.model(), tc.model()
				if diags := viaFramework.Get(ctx, fromFramework); diags.HasError() {
					t.Fatalf("framework Get: %v", diags)
				}
				if diags := getModel(raw, fromCodec); diags.HasError() {
					t.Fatalf("getModel: %v", diags)
				}
				if !reflect.DeepEqual(fromFramework, fromCodec) {
					t.Fatalf("variant %d: getModel = %+v, framework Get = %+v", variant, fromCodec, fromFramework)
				}
				if !reflect.DeepEqual(fromCodec, model) {
					t.Fatalf("variant %d: round trip = %+v, want %+v", variant, fromCodec, model)
				}
			}
		})
	}
}

func TestModelCodecRefusesAMismatchedSchema(t *testing.T) {
	ctx := context.Background()
	model := &stackModel{}
	fillModel(model, 0)
	if _, diags := modelValue(model, stackVCSBindingSchema().Type().TerraformType(ctx)); !diags.HasError() {
		t.Fatal("modelValue of a stack model for the binding schema succeeded")
	}
	raw, _ := modelValue(model, stackSchema().Type().TerraformType(ctx))
	if diags := getModel(raw, &stackVCSBindingModel{}); !diags.HasError() {
		t.Fatal("getModel of a stack value into a binding model succeeded")
	}
}
