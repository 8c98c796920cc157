package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSource                     = (*bitbucketDataCenterIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*bitbucketDataCenterIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*bitbucketDataCenterIntegrationDataSource)(nil)
)

// NewBitbucketDataCenterIntegrationDataSource reads one Bitbucket Data Center
// integration by id, by name, or the default one. It exposes no credentials.
func NewBitbucketDataCenterIntegrationDataSource() datasource.DataSource {
	return &bitbucketDataCenterIntegrationDataSource{}
}

type bitbucketDataCenterIntegrationDataSource struct {
	providerData *providerData
}

type bitbucketDataCenterIntegrationDataSourceModel struct {
	ID      types.String `tfsdk:"id"`
	Name    types.String `tfsdk:"name"`
	Default types.Bool   `tfsdk:"default"`

	IsDefault   types.Bool   `tfsdk:"is_default"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
	Labels      types.Set    `tfsdk:"labels"`
	VCSChecks   types.String `tfsdk:"vcs_checks"`
	WebhookURL  types.String `tfsdk:"webhook_url"`

	APIHost        types.String `tfsdk:"api_host"`
	UserFacingHost types.String `tfsdk:"user_facing_host"`
	Username       types.String `tfsdk:"username"`
	UseGitCheckout types.Bool   `tfsdk:"use_git_checkout"`
}

func (d *bitbucketDataCenterIntegrationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_datacenter_integration"
}

func (d *bitbucketDataCenterIntegrationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Bitbucket Data Center integration of orbit-server, selected by `id`, by `name`, or the default one " +
			"(`default = true`). The access token is write-only in orbit-server and never part of this data source; " +
			"use `orbit_integration_webhook` for the webhook secret.",
		Attributes: mergeDataSourceAttributes(
			integrationSelectorAttributes(bitbucketDataCenterKind),
			integrationCommonAttributes(),
			map[string]schema.Attribute{
				"api_host": schema.StringAttribute{
					MarkdownDescription: "Base URL orbit-server uses for the Bitbucket REST API: an `https://` URL or `private://<pool>`.",
					Computed:            true,
				},
				"user_facing_host": schema.StringAttribute{
					MarkdownDescription: "Base URL people open in a browser; equals `api_host` unless set separately.",
					Computed:            true,
				},
				"username": schema.StringAttribute{
					MarkdownDescription: "Bitbucket user the access token belongs to.",
					Computed:            true,
				},
				"use_git_checkout": schema.BoolAttribute{
					MarkdownDescription: "Whether runs fetch code with `git clone` instead of the archive API.",
					Computed:            true,
				},
			},
		),
	}
}

func (d *bitbucketDataCenterIntegrationDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return integrationSelectorValidators()
}

func (d *bitbucketDataCenterIntegrationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *bitbucketDataCenterIntegrationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data bitbucketDataCenterIntegrationDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := requireClient(d.providerData, &resp.Diagnostics)
	if client == nil {
		return
	}

	integration, diags := findIntegration(ctx, client, bitbucketDataCenterKind,
		integrationSelector{ID: data.ID, Name: data.Name, Default: data.Default})
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	labels, diags := integrationLabelsValue(ctx, integration.Labels)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	data.ID = types.StringValue(integration.ID)
	data.Name = types.StringValue(integration.Name)
	data.IsDefault = types.BoolValue(integration.IsDefault)
	data.SpaceID = types.StringValue(integration.SpaceID)
	data.Description = types.StringValue(integration.Description)
	data.Labels = labels
	data.VCSChecks = types.StringValue(integration.VCSChecks)
	data.WebhookURL = types.StringValue(integration.WebhookURL)
	data.APIHost = types.StringValue(integration.APIHost)
	data.UserFacingHost = types.StringValue(integration.UserFacingHost)
	data.Username = types.StringValue(integration.Username)
	data.UseGitCheckout = types.BoolValue(integration.UseGitCheckout)

	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}
