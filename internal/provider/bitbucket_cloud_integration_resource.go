package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ resource.ResourceWithConfigure        = (*bitbucketCloudIntegrationResource)(nil)
	_ resource.ResourceWithImportState      = (*bitbucketCloudIntegrationResource)(nil)
	_ resource.ResourceWithConfigValidators = (*bitbucketCloudIntegrationResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*bitbucketCloudIntegrationResource)(nil)
)

// appPasswordDeprecation is the warning Terraform shows whenever app_password or
// app_password_wo is set (the attributes' deprecation message).
const appPasswordDeprecation = "Bitbucket Cloud stopped accepting app passwords on 2026-07-28, so orbit-server cannot use this one to reach Bitbucket. " +
	"To move this integration: create an Atlassian API token with the repository and webhook scopes it needs, then replace username and app_password (or app_password_wo) " +
	"with email and api_token (or api_token_wo with api_token_wo_version). The next apply switches the integration to the API token and drops the stored app password; " +
	"the integration, its webhook URL and its secret stay the same."

// NewBitbucketCloudIntegrationResource is the orbit_bitbucket_cloud_integration resource.
func NewBitbucketCloudIntegrationResource() resource.Resource {
	return &bitbucketCloudIntegrationResource{integrationResource: integrationResource[bitbucketCloudIntegrationModel, *bitbucketCloudIntegrationModel]{
		kind:   bitbucketCloudKind,
		schema: bitbucketCloudIntegrationSchema,
	}}
}

type bitbucketCloudIntegrationResource struct {
	integrationResource[bitbucketCloudIntegrationModel, *bitbucketCloudIntegrationModel]
}

type bitbucketCloudIntegrationModel struct {
	integrationResourceFields

	Email                types.String `tfsdk:"email"`
	APIToken             types.String `tfsdk:"api_token"`
	APITokenWO           types.String `tfsdk:"api_token_wo"`
	APITokenWOVersion    types.Int64  `tfsdk:"api_token_wo_version"`
	Username             types.String `tfsdk:"username"`
	AppPassword          types.String `tfsdk:"app_password"`
	AppPasswordWO        types.String `tfsdk:"app_password_wo"`
	AppPasswordWOVersion types.Int64  `tfsdk:"app_password_wo_version"`
	AuthMethod           types.String `tfsdk:"auth_method"`
}

func (r *bitbucketCloudIntegrationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_cloud_integration"
}

func (r *bitbucketCloudIntegrationResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = bitbucketCloudIntegrationSchema()
}

func bitbucketCloudIntegrationSchema() schema.Schema {
	nonEmpty := stringvalidator.LengthAtLeast(1)
	attrs := map[string]schema.Attribute{
		"id": idAttribute("integration"),
		"name": schema.StringAttribute{
			MarkdownDescription: "Name, unique among Bitbucket Cloud integrations: 1-63 lowercase letters, digits, `_` and `-`. It is part of the webhook URL, so changing it replaces the integration.",
			Required:            true,
			Validators:          integrationNameValidators(),
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"description": descriptionAttribute(),
		"labels":      labelsAttribute(),
		"email": schema.StringAttribute{
			MarkdownDescription: "Atlassian account email that owns the API token. Required with `api_token` / `api_token_wo`.",
			Optional:            true,
			Validators: append(emailValidators(),
				stringvalidator.ConflictsWith(path.MatchRoot("app_password"), path.MatchRoot("app_password_wo"))),
		},
		"api_token": schema.StringAttribute{
			MarkdownDescription: "Atlassian API token. Never returned by the API; kept in state as a sensitive value. Prefer `api_token_wo`, which is never stored.",
			Optional:            true,
			Sensitive:           true,
			Validators:          []validator.String{nonEmpty, stringvalidator.AlsoRequires(path.MatchRoot("email"))},
		},
		"api_token_wo": schema.StringAttribute{
			MarkdownDescription: "Atlassian API token, write-only: sent to orbit-server but never stored in state (Terraform 1.11 or later). Requires `api_token_wo_version`; bump it to send a new value (without it, a changed value would never be sent).",
			Optional:            true,
			Sensitive:           true,
			WriteOnly:           true,
			Validators:          []validator.String{nonEmpty, stringvalidator.AlsoRequires(path.MatchRoot("email")), stringvalidator.AlsoRequires(path.MatchRoot("api_token_wo_version"))},
		},
		"api_token_wo_version": schema.Int64Attribute{
			MarkdownDescription: "Version of `api_token_wo`. Changing it sends the current `api_token_wo` to orbit-server.",
			Optional:            true,
			Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("api_token_wo"))},
		},
		"username": schema.StringAttribute{
			MarkdownDescription: "Bitbucket username for the legacy app password form. **Deprecated** with `app_password`.",
			Optional:            true,
			Validators: []validator.String{nonEmpty,
				stringvalidator.ConflictsWith(path.MatchRoot("api_token"), path.MatchRoot("api_token_wo"))},
		},
		"app_password": schema.StringAttribute{
			MarkdownDescription: "Legacy Bitbucket app password. **Deprecated**: Bitbucket stopped accepting app passwords on 2026-07-28; kept so that existing integrations can be imported and moved to `email` + `api_token`.",
			Optional:            true,
			Sensitive:           true,
			DeprecationMessage:  appPasswordDeprecation,
			Validators:          []validator.String{nonEmpty, stringvalidator.AlsoRequires(path.MatchRoot("username"))},
		},
		"app_password_wo": schema.StringAttribute{
			MarkdownDescription: "Write-only twin of `app_password`. **Deprecated** like it.",
			Optional:            true,
			Sensitive:           true,
			WriteOnly:           true,
			DeprecationMessage:  appPasswordDeprecation,
			Validators:          []validator.String{nonEmpty, stringvalidator.AlsoRequires(path.MatchRoot("username")), stringvalidator.AlsoRequires(path.MatchRoot("app_password_wo_version"))},
		},
		"app_password_wo_version": schema.Int64Attribute{
			MarkdownDescription: "Version of `app_password_wo`. Changing it sends the current `app_password_wo`.",
			Optional:            true,
			Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("app_password_wo"))},
		},
		"auth_method": schema.StringAttribute{
			MarkdownDescription: "Credential form in use: `api_token` or `app_password`. Follows from the credential attributes set.",
			Computed:            true,
		},
	}
	integrationPlacementAttributes(attrs)
	return schema.Schema{
		MarkdownDescription: "A Bitbucket Cloud integration in Orbit: the credentials orbit-server uses to report commit statuses, and the webhook URL repositories deliver events to. " +
			"Exactly one credential form is required: `email` with `api_token` or `api_token_wo`, or (deprecated) `username` with `app_password` or `app_password_wo`." +
			cloudScopesMarkdown(),
		Attributes: attrs,
	}
}

func (r *bitbucketCloudIntegrationResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		integrationPlacementValidator{},
		resourcevalidator.ExactlyOneOf(
			path.MatchRoot("api_token"), path.MatchRoot("api_token_wo"),
			path.MatchRoot("app_password"), path.MatchRoot("app_password_wo"),
		),
	}
}

// authMethodFor says which credential form a configuration uses.
func authMethodFor(config bitbucketCloudIntegrationModel) types.String {
	switch {
	case !config.APIToken.IsNull() || !config.APITokenWO.IsNull():
		return types.StringValue(orbitapi.AuthMethodAPIToken)
	case !config.AppPassword.IsNull() || !config.AppPasswordWO.IsNull():
		return types.StringValue(orbitapi.AuthMethodAppPassword)
	}
	return types.StringUnknown()
}

// ModifyPlan plans auth_method from the configured credential form, so that a change
// of form (or one made outside Terraform) shows in the plan.
func (r *bitbucketCloudIntegrationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var config bitbucketCloudIntegrationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("auth_method"), authMethodFor(config))...)
}

// request builds the API request from the planned values; credentials are added by
// addCredentials.
func (m *bitbucketCloudIntegrationModel) request(ctx context.Context, diags *diag.Diagnostics) orbitapi.IntegrationRequest {
	in := m.integrationResourceFields.request(ctx, orbitapi.ProviderBitbucketCloud, diags)
	in.Email = m.Email.ValueString()
	in.Username = m.Username.ValueString()
	return in
}

// fromAPI refreshes every attribute the API returns; credentials and their versions
// are left as they are (the API never returns them).
func (m *bitbucketCloudIntegrationModel) fromAPI(in *orbitapi.Integration) {
	m.integrationResourceFields.fromAPI(in)
	m.Email = stringOrNull(orbitapi.String(in.Email))
	m.Username = stringOrNull(orbitapi.String(in.Username))
	m.AuthMethod = stringOrNull(orbitapi.String(in.AuthMethod))
	// Write-only values are never stored.
	m.APITokenWO = types.StringNull()
	m.AppPasswordWO = types.StringNull()
}

// addCredentials sends the configured credential on create; on update only a changed
// one, except that switching credential form needs the new credential whatever its
// version says.
func (m *bitbucketCloudIntegrationModel) addCredentials(in *orbitapi.IntegrationRequest, prior, config *bitbucketCloudIntegrationModel, create bool) {
	force := create || !m.AuthMethod.Equal(prior.AuthMethod)
	in.APIToken = secretToSend(m.APIToken, prior.APIToken, config.APITokenWO, m.APITokenWOVersion, prior.APITokenWOVersion, force)
	in.AppPassword = secretToSend(m.AppPassword, prior.AppPassword, config.AppPasswordWO, m.AppPasswordWOVersion, prior.AppPasswordWOVersion, force)
}
