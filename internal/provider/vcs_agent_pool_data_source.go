package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSourceWithConfigure        = (*vcsAgentPoolDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*vcsAgentPoolDataSource)(nil)
)

// NewVCSAgentPoolDataSource is the orbit_vcs_agent_pool data source.
func NewVCSAgentPoolDataSource() datasource.DataSource { return &vcsAgentPoolDataSource{} }

type vcsAgentPoolDataSource struct {
	data *providerData
}

type vcsAgentPoolDataSourceModel struct {
	vcsAgentPoolModel
	ConnectedAgentCount types.Int64 `tfsdk:"connected_agent_count"`
	ConnectedAgents     types.List  `tfsdk:"connected_agents"`
}

var connectedAgentType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"id": types.StringType, "version": types.StringType, "connected_since": types.StringType, "replica": types.StringType,
}}

func (d *vcsAgentPoolDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vcs_agent_pool"
}

func (d *vcsAgentPoolDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up a VCS agent pool by `id` or `name`, with the agents connected to it now.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Id of the pool. Exactly one of `id` or `name` must be set.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the pool (unique across the server). Exactly one of `id` or `name` must be set.",
				Optional:            true,
				Computed:            true,
				Validators:          poolNameValidators(),
			},
			"space_id": schema.StringAttribute{
				MarkdownDescription: "Space the pool lives in.",
				Computed:            true,
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Free-text description; empty when unset.",
				Computed:            true,
			},
			"connected_agent_count": schema.Int64Attribute{
				MarkdownDescription: "How many agents of the pool are connected to orbit-server now.",
				Computed:            true,
			},
			"connected_agents": schema.ListNestedAttribute{
				MarkdownDescription: "The agents connected now, oldest connection first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":              schema.StringAttribute{MarkdownDescription: "Id of the connection (new at every connection).", Computed: true},
					"version":         schema.StringAttribute{MarkdownDescription: "The agent's version, as it announced it.", Computed: true},
					"connected_since": schema.StringAttribute{MarkdownDescription: "When the agent connected (RFC 3339, UTC).", Computed: true},
					"replica":         schema.StringAttribute{MarkdownDescription: "The orbit-server replica the agent is connected to.", Computed: true},
				}},
			},
		},
	}
}

func (d *vcsAgentPoolDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name"))}
}

func (d *vcsAgentPoolDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *vcsAgentPoolDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data vcsAgentPoolDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := requireClient(d.data, &resp.Diagnostics)
	if client == nil {
		return
	}
	var found *orbitapi.VCSAgentPool
	if !data.ID.IsNull() {
		id := data.ID.ValueString()
		pool, err := client.VCSAgentPools.Get(ctx, id)
		if orbitapi.IsNotFound(err) {
			resp.Diagnostics.AddAttributeError(path.Root("id"), "VCS agent pool not found",
				fmt.Sprintf("No VCS agent pool with id %q exists, or the API key has no read role on its space.", id))
			return
		}
		if err != nil {
			resp.Diagnostics.AddError("Unable to read VCS agent pool", err.Error())
			return
		}
		found = pool
	} else {
		name := data.Name.ValueString()
		pools, err := client.VCSAgentPools.ListAll(ctx, orbitapi.ListOptions{Name: name})
		if err != nil {
			resp.Diagnostics.AddError("Unable to read VCS agent pool", err.Error())
			return
		}
		for i := range pools {
			if pools[i].Name == name {
				found = &pools[i]
			}
		}
		if found == nil {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "VCS agent pool not found",
				fmt.Sprintf("No VCS agent pool named %q exists, or the API key has no read role on its space.", name))
			return
		}
	}
	data.fromAPI(found)
	data.ConnectedAgentCount = types.Int64Value(int64(found.ConnectedAgentCount))
	agents := make([]attr.Value, 0, len(found.ConnectedAgents))
	for _, a := range found.ConnectedAgents {
		obj, diags := types.ObjectValue(connectedAgentType.AttrTypes, map[string]attr.Value{
			"id": types.StringValue(a.ID), "version": types.StringValue(a.Version),
			"connected_since": types.StringValue(a.ConnectedSince.UTC().Format(time.RFC3339)), "replica": types.StringValue(a.Replica),
		})
		resp.Diagnostics.Append(diags...)
		agents = append(agents, obj)
	}
	list, diags := types.ListValue(connectedAgentType, agents)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	data.ConnectedAgents = list
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}
