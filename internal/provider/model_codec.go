package provider

import (
	"fmt"
	"math/big"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A codec between flat resource models and the Terraform values of a request or
// response, for the resources that come by the hundred (repository webhooks, stacks,
// bindings). The framework's req.State.Get / resp.State.Set walk the model by
// reflection on every call and compile a regular expression per field to check its
// tfsdk tag (internal/reflect.isValidFieldName): on a no-change plan of 500 hooks that
// was a tenth of the provider's CPU. Here the fields of a model type are found once;
// a value is then read or built attribute by attribute, giving the same values the
// framework would (types.String, types.Bool, types.Int64 and sets of strings, with
// null and unknown kept).

type modelFieldKind int

const (
	fieldString modelFieldKind = iota
	fieldBool
	fieldInt64
	fieldStringSet
)

type modelField struct {
	index []int
	name  string
	kind  modelFieldKind
}

var (
	modelFieldsByType sync.Map // reflect.Type -> []modelField

	stringFieldType = reflect.TypeFor[types.String]()
	boolFieldType   = reflect.TypeFor[types.Bool]()
	int64FieldType  = reflect.TypeFor[types.Int64]()
	setFieldType    = reflect.TypeFor[types.Set]()
)

// modelFields lists the tfsdk fields of a model struct type; it panics on a field
// type the codec does not handle, which a test of each model catches.
func modelFields(t reflect.Type) []modelField {
	if fields, ok := modelFieldsByType.Load(t); ok {
		return fields.([]modelField) //nolint:forcetypeassert // only []modelField is stored
	}
	var fields []modelField
	for _, f := range reflect.VisibleFields(t) {
		name, ok := f.Tag.Lookup("tfsdk")
		if !ok || name == "-" || f.Anonymous {
			continue
		}
		field := modelField{index: f.Index, name: name}
		switch f.Type {
		case stringFieldType:
			field.kind = fieldString
		case boolFieldType:
			field.kind = fieldBool
		case int64FieldType:
			field.kind = fieldInt64
		case setFieldType:
			field.kind = fieldStringSet
		default:
			panic(fmt.Sprintf("model %s: field %s of type %s is not handled by the model codec", t, f.Name, f.Type))
		}
		fields = append(fields, field)
	}
	modelFieldsByType.Store(t, fields)
	return fields
}

// getModel reads raw, a state, plan or config object, into the struct target points
// to, like tfsdk.State.Get.
func getModel(raw tftypes.Value, target any) diag.Diagnostics {
	var diags diag.Diagnostics
	v := reflect.ValueOf(target).Elem()
	var attrs map[string]tftypes.Value
	if err := raw.As(&attrs); err != nil {
		diags.AddError("Value conversion error", "Reading the resource's attributes: "+err.Error())
		return diags
	}
	for _, f := range modelFields(v.Type()) {
		a, ok := attrs[f.name]
		if !ok {
			diags.AddError("Value conversion error", fmt.Sprintf("The value has no attribute %q.", f.name))
			continue
		}
		value, err := fieldFromTerraform(f.kind, a)
		if err != nil {
			diags.AddError("Value conversion error", fmt.Sprintf("Reading attribute %q: %s.", f.name, err))
			continue
		}
		v.FieldByIndex(f.index).Set(reflect.ValueOf(value))
	}
	return diags
}

func fieldFromTerraform(kind modelFieldKind, a tftypes.Value) (any, error) {
	switch kind {
	case fieldString:
		return stringFromTerraform(a)
	case fieldBool:
		switch {
		case !a.IsKnown():
			return types.BoolUnknown(), nil
		case a.IsNull():
			return types.BoolNull(), nil
		}
		var b bool
		err := a.As(&b)
		return types.BoolValue(b), err
	case fieldInt64:
		switch {
		case !a.IsKnown():
			return types.Int64Unknown(), nil
		case a.IsNull():
			return types.Int64Null(), nil
		}
		// tftypes reads a number only as a *big.Float.
		var f big.Float
		if err := a.As(&f); err != nil {
			return nil, err
		}
		n, acc := f.Int64()
		if acc != big.Exact {
			return nil, fmt.Errorf("%s is not a whole number in the int64 range", f.String())
		}
		return types.Int64Value(n), nil
	default:
		switch {
		case !a.IsKnown():
			return types.SetUnknown(types.StringType), nil
		case a.IsNull():
			return types.SetNull(types.StringType), nil
		}
		var elems []tftypes.Value
		if err := a.As(&elems); err != nil {
			return nil, err
		}
		values := make([]attr.Value, 0, len(elems))
		for _, e := range elems {
			s, err := stringFromTerraform(e)
			if err != nil {
				return nil, err
			}
			values = append(values, s)
		}
		set, diags := types.SetValue(types.StringType, values)
		if diags.HasError() {
			return nil, fmt.Errorf("%v", diags)
		}
		return set, nil
	}
}

func stringFromTerraform(a tftypes.Value) (types.String, error) {
	switch {
	case !a.IsKnown():
		return types.StringUnknown(), nil
	case a.IsNull():
		return types.StringNull(), nil
	}
	var s string
	err := a.As(&s)
	return types.StringValue(s), err
}

// modelValue builds the object value of type typ (the resource's schema type, as
// req.State.Raw.Type() gives it) from the struct src points to, like tfsdk.State.Set.
func modelValue(src any, typ tftypes.Type) (tftypes.Value, diag.Diagnostics) {
	var diags diag.Diagnostics
	obj, ok := typ.(tftypes.Object)
	if !ok {
		diags.AddError("Value conversion error", fmt.Sprintf("The resource's type %s is not an object.", typ))
		return tftypes.Value{}, diags
	}
	v := reflect.ValueOf(src).Elem()
	fields := modelFields(v.Type())
	if len(fields) != len(obj.AttributeTypes) {
		diags.AddError("Value conversion error", fmt.Sprintf("The model %s has %d attributes, the schema %d.", v.Type(), len(fields), len(obj.AttributeTypes)))
		return tftypes.Value{}, diags
	}
	attrs := make(map[string]tftypes.Value, len(fields))
	for _, f := range fields {
		t, ok := obj.AttributeTypes[f.name]
		if !ok {
			diags.AddError("Value conversion error", fmt.Sprintf("The schema has no attribute %q.", f.name))
			return tftypes.Value{}, diags
		}
		attrs[f.name] = fieldToTerraform(f.kind, v.FieldByIndex(f.index).Interface(), t)
	}
	return tftypes.NewValue(obj, attrs), diags
}

func fieldToTerraform(kind modelFieldKind, field any, t tftypes.Type) tftypes.Value {
	var value attr.Value
	switch kind {
	case fieldString:
		s := field.(types.String) //nolint:forcetypeassert // the kind says so
		if !s.IsNull() && !s.IsUnknown() {
			return tftypes.NewValue(t, s.ValueString())
		}
		value = s
	case fieldBool:
		b := field.(types.Bool) //nolint:forcetypeassert // the kind says so
		if !b.IsNull() && !b.IsUnknown() {
			return tftypes.NewValue(t, b.ValueBool())
		}
		value = b
	case fieldInt64:
		n := field.(types.Int64) //nolint:forcetypeassert // the kind says so
		if !n.IsNull() && !n.IsUnknown() {
			return tftypes.NewValue(t, n.ValueInt64())
		}
		value = n
	default:
		set := field.(types.Set) //nolint:forcetypeassert // the kind says so
		if !set.IsNull() && !set.IsUnknown() {
			elemType := t.(tftypes.Set).ElementType //nolint:forcetypeassert // a set attribute's type
			elems := make([]tftypes.Value, 0, len(set.Elements()))
			for _, e := range set.Elements() {
				elems = append(elems, fieldToTerraform(fieldString, e, elemType))
			}
			return tftypes.NewValue(t, elems)
		}
		value = set
	}
	if value.IsUnknown() {
		return tftypes.NewValue(t, tftypes.UnknownValue)
	}
	return tftypes.NewValue(t, nil)
}

// setModel replaces *raw (a response's state or plan) with the value of the struct
// src points to, keeping its type.
func setModel(raw *tftypes.Value, src any) diag.Diagnostics {
	v, diags := modelValue(src, raw.Type())
	if !diags.HasError() {
		*raw = v
	}
	return diags
}
