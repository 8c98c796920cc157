package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Conversions between Terraform values and the API's, and the choice of which
// credential a write sends.

func labelsFromSet(ctx context.Context, set types.Set, diags *diag.Diagnostics) []string {
	labels := []string{}
	if set.IsNull() || set.IsUnknown() {
		return labels
	}
	diags.Append(set.ElementsAs(ctx, &labels, false)...)
	return labels
}

func labelsToSet(labels []string) types.Set {
	values := make([]attr.Value, 0, len(labels))
	for _, label := range labels {
		values = append(values, types.StringValue(label))
	}
	return types.SetValueMust(types.StringType, values)
}

// stringOrNull maps the API's "" (unset) to null, for Optional attributes.
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// secretToSend decides which value, if any, of a credential goes into a request.
//   - plain: the Sensitive attribute as planned; prior: its value in state.
//   - writeOnly: the *_wo attribute from config (never in plan or state).
//   - version / priorVersion: *_wo_version as planned and in state.
//   - force: send whatever is configured (create, or switching credential form).
//
// A credential is sent only when it changed, so an unrelated update keeps the stored
// one (the API keeps a credential that is absent from the request).
func secretToSend(plain, prior, writeOnly types.String, version, priorVersion types.Int64, force bool) *string {
	if !plain.IsNull() && !plain.IsUnknown() {
		if force || !plain.Equal(prior) {
			v := plain.ValueString()
			return &v
		}
		return nil
	}
	if !writeOnly.IsNull() && !writeOnly.IsUnknown() {
		if force || !version.Equal(priorVersion) {
			v := writeOnly.ValueString()
			return &v
		}
	}
	return nil
}
