package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ resource.ResourceWithConfigure        = (*bitbucketDataCenterIntegrationResource)(nil)
	_ resource.ResourceWithImportState      = (*bitbucketDataCenterIntegrationResource)(nil)
	_ resource.ResourceWithConfigValidators = (*bitbucketDataCenterIntegrationResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*bitbucketDataCenterIntegrationResource)(nil)
)

// NewBitbucketDataCenterIntegrationResource is the orbit_bitbucket_datacenter_integration resource.
func NewBitbucketDataCenterIntegrationResource() resource.Resource {
	return &bitbucketDataCenterIntegrationResource{integrationResource: integrationResource[bitbucketDataCenterIntegrationModel, *bitbucketDataCenterIntegrationModel]{
		kind:   bitbucketDataCenterKind,
		schema: bitbucketDataCenterIntegrationSchema,
	}}
}

type bitbucketDataCenterIntegrationResource struct {
	integrationResource[bitbucketDataCenterIntegrationModel, *bitbucketDataCenterIntegrationModel]
}

type bitbucketDataCenterIntegrationModel struct {
	integrationResourceFields

	APIHost              types.String `tfsdk:"api_host"`
	UserFacingHost       types.String `tfsdk:"user_facing_host"`
	Username             types.String `tfsdk:"username"`
	AccessToken          types.String `tfsdk:"access_token"`
	AccessTokenWO        types.String `tfsdk:"access_token_wo"`
	AccessTokenWOVersion types.Int64  `tfsdk:"access_token_wo_version"`
	UseGitCheckout       types.Bool   `tfsdk:"use_git_checkout"`
}

func (r *bitbucketDataCenterIntegrationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_datacenter_integration"
}

func (r *bitbucketDataCenterIntegrationResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = bitbucketDataCenterIntegrationSchema()
}

func bitbucketDataCenterIntegrationSchema() schema.Schema {
	nonEmpty := stringvalidator.LengthAtLeast(1)
	attrs := map[string]schema.Attribute{
		"id": idAttribute("integration"),
		"name": schema.StringAttribute{
			MarkdownDescription: "Name, unique among Bitbucket Data Center integrations: 1-63 lowercase letters, digits, `_` and `-`. It is part of the webhook URL, so changing it replaces the integration.",
			Required:            true,
			Validators:          integrationNameValidators(),
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"description": descriptionAttribute(),
		"labels":      labelsAttribute(),
		"api_host": schema.StringAttribute{
			MarkdownDescription: "Where orbit-server reaches Bitbucket Data Center: an `https://` URL (`http://` is accepted only on a loopback host, for a local stand-in such as the Bitbucket sandbox), or `private://<pool>` for a server reachable only through the agents of a VCS agent pool (`orbit_vcs_agent_pool`; the pool must exist and be visible from the integration's space, else apply fails on `api_host`).",
			Required:            true,
			Validators:          []validator.String{apiHostValidator()},
		},
		"user_facing_host": schema.StringAttribute{
			MarkdownDescription: "URL users open in a browser. Defaults to `api_host`; required when `api_host` is `private://...`.",
			Optional:            true,
			Computed:            true,
			Validators:          []validator.String{serverURLValidator()},
			PlanModifiers:       []planmodifier.String{userFacingHostDefault{}},
		},
		"username": schema.StringAttribute{
			MarkdownDescription: "Bitbucket Data Center user the access token belongs to.",
			Required:            true,
			Validators:          []validator.String{nonEmpty},
		},
		"access_token": schema.StringAttribute{
			MarkdownDescription: "HTTP access token (sent as a Bearer token). Never returned by the API; kept in state as a sensitive value. Prefer `access_token_wo`, which is never stored.",
			Optional:            true,
			Sensitive:           true,
			Validators:          []validator.String{nonEmpty},
		},
		"access_token_wo": schema.StringAttribute{
			MarkdownDescription: "HTTP access token, write-only: sent to orbit-server but never stored in state (Terraform 1.11 or later). Requires `access_token_wo_version`; bump it to send a new value (without it, a changed value would never be sent).",
			Optional:            true,
			Sensitive:           true,
			WriteOnly:           true,
			Validators:          []validator.String{nonEmpty, stringvalidator.AlsoRequires(path.MatchRoot("access_token_wo_version"))},
		},
		"access_token_wo_version": schema.Int64Attribute{
			MarkdownDescription: "Version of `access_token_wo`. Changing it sends the current `access_token_wo` to orbit-server.",
			Optional:            true,
			Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("access_token_wo"))},
		},
		"use_git_checkout": schema.BoolAttribute{
			MarkdownDescription: "Whether runs fetch code with `git clone` instead of the archive API. Defaults to `false`.",
			Optional:            true,
			Computed:            true,
			Default:             booldefault.StaticBool(false),
		},
	}
	integrationPlacementAttributes(attrs)
	return schema.Schema{
		MarkdownDescription: "A Bitbucket Data Center integration in Orbit: the access token orbit-server uses to report build statuses, and the webhook URL repositories deliver events to. " +
			"Exactly one of `access_token` and `access_token_wo` is required." +
			dataCenterPermissionsMarkdown(),
		Attributes: attrs,
	}
}

// userFacingHostDefault plans user_facing_host as api_host when it is not set, which
// is the server's default, so the plan matches what apply stores.
type userFacingHostDefault struct{}

func (userFacingHostDefault) Description(context.Context) string { return "defaults to api_host" }

func (m userFacingHostDefault) MarkdownDescription(ctx context.Context) string {
	return "defaults to `api_host`"
}

func (userFacingHostDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var apiHost types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("api_host"), &apiHost)...)
	if apiHost.IsUnknown() || apiHost.IsNull() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	resp.PlanValue = apiHost
}

func (r *bitbucketDataCenterIntegrationResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		integrationPlacementValidator{},
		resourcevalidator.ExactlyOneOf(path.MatchRoot("access_token"), path.MatchRoot("access_token_wo")),
	}
}

func (r *bitbucketDataCenterIntegrationResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var apiHost, userFacingHost types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("api_host"), &apiHost)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("user_facing_host"), &userFacingHost)...)
	if resp.Diagnostics.HasError() || apiHost.IsUnknown() || apiHost.IsNull() {
		return
	}
	if strings.HasPrefix(apiHost.ValueString(), "private://") && userFacingHost.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("user_facing_host"), "Missing user_facing_host",
			"user_facing_host is required when api_host is private://...: users cannot open a private pool address. Set it to the https:// URL people use to browse Bitbucket.")
	}
}

// request builds the API request from the planned values; the token is added by
// addCredentials.
func (m *bitbucketDataCenterIntegrationModel) request(ctx context.Context, diags *diag.Diagnostics) orbitapi.IntegrationRequest {
	in := m.integrationResourceFields.request(ctx, orbitapi.ProviderBitbucketDataCenter, diags)
	in.APIHost = m.APIHost.ValueString()
	if !m.UserFacingHost.IsUnknown() {
		in.UserFacingHost = m.UserFacingHost.ValueString()
	}
	in.Username = m.Username.ValueString()
	useGitCheckout := m.UseGitCheckout.ValueBool()
	in.UseGitCheckout = &useGitCheckout
	return in
}

// fromAPI refreshes every attribute the API returns; the token and its version are
// left as they are (the API never returns them).
func (m *bitbucketDataCenterIntegrationModel) fromAPI(in *orbitapi.Integration) {
	m.integrationResourceFields.fromAPI(in)
	m.APIHost = types.StringValue(orbitapi.String(in.APIHost))
	m.UserFacingHost = types.StringValue(orbitapi.String(in.UserFacingHost))
	m.Username = types.StringValue(orbitapi.String(in.Username))
	m.UseGitCheckout = types.BoolValue(orbitapi.Bool(in.UseGitCheckout))
	m.AccessTokenWO = types.StringNull()
}

// addCredentials sends the configured token on create; on update only a changed one,
// except that moving from access_token to access_token_wo (or back) sends it again.
func (m *bitbucketDataCenterIntegrationModel) addCredentials(in *orbitapi.IntegrationRequest, prior, config *bitbucketDataCenterIntegrationModel, create bool) {
	force := create || m.AccessToken.IsNull() != prior.AccessToken.IsNull()
	in.AccessToken = secretToSend(m.AccessToken, prior.AccessToken, config.AccessTokenWO, m.AccessTokenWOVersion, prior.AccessTokenWOVersion, force)
}
