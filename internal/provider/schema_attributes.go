package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
)

// Schema attributes, plan modifiers and config validators shared by orbit_space and
// the two integration resources.

func idAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Identifier of the " + what + ", assigned by orbit-server.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func descriptionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Free-text description, up to 4096 characters. Defaults to `\"\"`.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(""),
		Validators:          []validator.String{stringvalidator.UTF8LengthAtMost(rules.MaxDescriptionLen)},
	}
}

func labelsAttribute() schema.SetAttribute {
	return schema.SetAttribute{
		MarkdownDescription: "Labels. Each starts with a letter or digit and has at most 63 characters of letters, digits and `_ . : / -`.",
		ElementType:         types.StringType,
		Optional:            true,
		Computed:            true,
		Default:             setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{})),
		Validators:          labelsValidators(),
	}
}

// integrationPlacementAttributes are is_default, space_id, vcs_checks and webhook_url,
// identical for both integration resources.
func integrationPlacementAttributes(attrs map[string]schema.Attribute) {
	attrs["is_default"] = schema.BoolAttribute{
		MarkdownDescription: "Whether this is the default integration of its kind. A default integration lives in the `root` space; there is at most one per provider type. Exactly one of `is_default = true` and `space_id` must be set.",
		Optional:            true,
		Computed:            true,
		Default:             booldefault.StaticBool(false),
	}
	attrs["space_id"] = schema.StringAttribute{
		MarkdownDescription: "Space the integration belongs to. Must not be set when `is_default = true`; the state then shows `root`.",
		Optional:            true,
		Computed:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		PlanModifiers:       []planmodifier.String{rootSpaceWhenDefault{}},
	}
	attrs["vcs_checks"] = schema.StringAttribute{
		MarkdownDescription: "Which commit statuses orbit-server reports to Bitbucket: `individual` (one per stack), `aggregated` (one per run kind) or `all`. Defaults to `individual`.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(defaultVCSChecks),
		Validators:          vcsChecksValidators(),
	}
	attrs["webhook_secret_version"] = schema.Int64Attribute{
		MarkdownDescription: "Raise it to rotate the webhook secret in the same apply: orbit-server makes a new one, and every `orbit_bitbucket_repository_webhook` whose own `webhook_secret_version` refers to this attribute is re-keyed in that same apply (so the next plan is empty); a hook without that reference shows the update in the next plan instead. " +
			"The replaced secret keeps verifying deliveries for orbit-server's `--webhook-secret-grace` (default 24h; the data source shows the end as `previous_webhook_secret_expires_at`). " +
			"Setting it for the first time, or lowering it, records the value without rotating. See the guide [Rotating the webhook secret](../guides/rotating-the-webhook-secret.md).",
		Optional:   true,
		Validators: []validator.Int64{int64validator.AtLeast(0)},
	}
	attrs["check_credentials"] = schema.BoolAttribute{
		MarkdownDescription: "Whether orbit-server tries the credential against Bitbucket when the integration is created or changed (Cloud: `GET /2.0/user` and the scopes Bitbucket reports the token holds; Data Center: a project list and the repositories the token may read), and refuses it with a message naming what is missing (see the sections on required API token scopes and required permissions). orbit-server itself must reach the Bitbucket host for that. Set `false` to create an integration for a host orbit-server cannot reach yet. Defaults to `true`. Not stored by orbit-server.",
		Optional:            true,
		Computed:            true,
		Default:             booldefault.StaticBool(true),
	}
	attrs["webhook_url"] = schema.StringAttribute{
		MarkdownDescription: "URL Bitbucket delivers webhooks to. It derives from the name, which is why renaming replaces the integration.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// rootSpaceWhenDefault plans space_id as "root" for a default integration, which is
// what the server answers, so that no diff appears after apply.
type rootSpaceWhenDefault struct{}

func (rootSpaceWhenDefault) Description(context.Context) string {
	return "a default integration lives in the root space"
}

func (m rootSpaceWhenDefault) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (rootSpaceWhenDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var isDefault types.Bool
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("is_default"), &isDefault)...)
	if isDefault.IsUnknown() || isDefault.IsNull() {
		return
	}
	if isDefault.ValueBool() {
		resp.PlanValue = types.StringValue(orbitapi.RootSpaceID)
	}
}

// integrationPlacementValidator: exactly one of is_default = true and space_id.
type integrationPlacementValidator struct{}

var _ resource.ConfigValidator = integrationPlacementValidator{}

func (integrationPlacementValidator) Description(context.Context) string {
	return "exactly one of is_default = true and space_id must be set"
}

func (v integrationPlacementValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (integrationPlacementValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var isDefault types.Bool
	var spaceID types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("is_default"), &isDefault)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("space_id"), &spaceID)...)
	// An unknown space_id (one that comes from another resource) is still set: with
	// is_default = true it must fail here, at plan, not at apply after other
	// resources were created.
	if resp.Diagnostics.HasError() || isDefault.IsUnknown() {
		return
	}
	switch {
	case isDefault.ValueBool() && !spaceID.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("space_id"), "Conflicting placement",
			"space_id must not be set when is_default = true: a default integration always lives in the root space. Remove space_id, or set is_default = false.")
	case !isDefault.ValueBool() && spaceID.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("space_id"), "Missing placement",
			"Set space_id to the space this integration belongs to, or set is_default = true to make it the default integration (it then lives in the root space).")
	}
}
