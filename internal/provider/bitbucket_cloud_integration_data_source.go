package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSource                     = (*bitbucketCloudIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*bitbucketCloudIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*bitbucketCloudIntegrationDataSource)(nil)
)

// NewBitbucketCloudIntegrationDataSource reads one Bitbucket Cloud integration by
// id, by name, or the default one. It exposes no credentials.
func NewBitbucketCloudIntegrationDataSource() datasource.DataSource {
	return &bitbucketCloudIntegrationDataSource{integrationDataSource: integrationDataSource[bitbucketCloudIntegrationDataSourceModel, *bitbucketCloudIntegrationDataSourceModel]{kind: bitbucketCloudKind}}
}

type bitbucketCloudIntegrationDataSource struct {
	integrationDataSource[bitbucketCloudIntegrationDataSourceModel, *bitbucketCloudIntegrationDataSourceModel]
}

type bitbucketCloudIntegrationDataSourceModel struct {
	integrationDataSourceFields

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

func (m *bitbucketCloudIntegrationDataSourceModel) fields() *integrationDataSourceFields {
	return &m.integrationDataSourceFields
}

func (m *bitbucketCloudIntegrationDataSourceModel) kindFromAPI(in *orbitapi.Integration) {
	m.Email = types.StringValue(orbitapi.String(in.Email))
	m.Username = types.StringValue(orbitapi.String(in.Username))
	m.AuthMethod = types.StringValue(orbitapi.String(in.AuthMethod))
}
