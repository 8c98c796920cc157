package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSource                     = (*bitbucketDataCenterIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*bitbucketDataCenterIntegrationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*bitbucketDataCenterIntegrationDataSource)(nil)
)

// NewBitbucketDataCenterIntegrationDataSource reads one Bitbucket Data Center
// integration by id, by name, or the default one. It exposes no credentials.
func NewBitbucketDataCenterIntegrationDataSource() datasource.DataSource {
	return &bitbucketDataCenterIntegrationDataSource{integrationDataSource: integrationDataSource[bitbucketDataCenterIntegrationDataSourceModel, *bitbucketDataCenterIntegrationDataSourceModel]{kind: bitbucketDataCenterKind}}
}

type bitbucketDataCenterIntegrationDataSource struct {
	integrationDataSource[bitbucketDataCenterIntegrationDataSourceModel, *bitbucketDataCenterIntegrationDataSourceModel]
}

type bitbucketDataCenterIntegrationDataSourceModel struct {
	integrationDataSourceFields

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

func (m *bitbucketDataCenterIntegrationDataSourceModel) fields() *integrationDataSourceFields {
	return &m.integrationDataSourceFields
}

func (m *bitbucketDataCenterIntegrationDataSourceModel) kindFromAPI(in *orbitapi.Integration) {
	m.APIHost = types.StringValue(orbitapi.String(in.APIHost))
	m.UserFacingHost = types.StringValue(orbitapi.String(in.UserFacingHost))
	m.Username = types.StringValue(orbitapi.String(in.Username))
	m.UseGitCheckout = types.BoolValue(orbitapi.Bool(in.UseGitCheckout))
}
