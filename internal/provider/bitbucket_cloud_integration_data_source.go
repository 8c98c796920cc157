package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSource                     = (*bitbucketCloudIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*bitbucketCloudIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*bitbucketCloudIntegrationDataSource)(nil)
)

// NewBitbucketCloudIntegrationDataSource reads one Bitbucket Cloud integration by
// id, by name, or the default one. It exposes no credentials.
func NewBitbucketCloudIntegrationDataSource() datasource.DataSource {
	return &bitbucketCloudIntegrationDataSource{}
}

type bitbucketCloudIntegrationDataSource struct {
	providerData *providerData
}

type bitbucketCloudIntegrationDataSourceModel struct {
	ID      types.String `tfsdk:"id"`
	Name    types.String `tfsdk:"name"`
	Default types.Bool   `tfsdk:"default"`

	IsDefault   types.Bool   `tfsdk:"is_default"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
	Labels      types.Set    `tfsdk:"labels"`
	VCSChecks   types.String `tfsdk:"vcs_checks"`
	WebhookURL  types.String `tfsdk:"webhook_url"`

	Email      types.String `tfsdk:"email"`
	Username   types.String `tfsdk:"username"`
	AuthMethod types.String `tfsdk:"auth_method"`
}

func (d *bitbucketCloudIntegrationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_cloud_integration"
}

func (d *bitbucketCloudIntegrationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Bitbucket Cloud integration of orbit-server, selected by `id`, by `name`, or the default one " +
			"(`default = true`). Credentials are write-only in orbit-server and never part of this data source; " +
			"use `orbit_integration_webhook` for the webhook secret.",
		Attributes: mergeDataSourceAttributes(
			integrationSelectorAttributes(bitbucketCloudKind),
			integrationCommonAttributes(),
			map[string]schema.Attribute{
				"email": schema.StringAttribute{
					MarkdownDescription: "Atlassian account email used with the API token; empty for a legacy app-password integration.",
					Computed:            true,
				},
				"username": schema.StringAttribute{
					MarkdownDescription: "Bitbucket username of a legacy app-password integration; empty otherwise.",
					Computed:            true,
				},
				"auth_method": schema.StringAttribute{
					MarkdownDescription: "`api_token`, or `app_password` for a legacy integration that still has to move to an API token.",
					Computed:            true,
				},
			},
		),
	}
}

func (d *bitbucketCloudIntegrationDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return integrationSelectorValidators()
}

func (d *bitbucketCloudIntegrationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *bitbucketCloudIntegrationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data bitbucketCloudIntegrationDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := requireClient(d.providerData, &resp.Diagnostics)
	if client == nil {
		return
	}

	integration, diags := findIntegration(ctx, client, bitbucketCloudKind,
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
	data.Email = types.StringValue(integration.Email)
	data.Username = types.StringValue(integration.Username)
	data.AuthMethod = types.StringValue(integration.AuthMethod)

	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}
