package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSourceWithConfigure        = (*stackDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*stackDataSource)(nil)
)

// NewStackDataSource is the orbit_stack data source.
func NewStackDataSource() datasource.DataSource { return &stackDataSource{} }

type stackDataSource struct {
	data *providerData
}

func (d *stackDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack"
}

func (d *stackDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up a stack by `id`, or by `name` within `space_id`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Id of the stack. Exactly one of `id` or `name` must be set.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the stack; needs `space_id`. Exactly one of `id` or `name` must be set.",
				Optional:            true,
				Computed:            true,
				Validators:          objectNameValidators(),
			},
			"space_id": schema.StringAttribute{
				MarkdownDescription: "Space to look for `name` in; with `id`, the space the stack lives in.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Free-text description; empty when unset.",
				Computed:            true,
			},
			"labels": schema.SetAttribute{
				MarkdownDescription: "Labels of the stack.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"latest_run": latestRunAttribute(),
		},
	}
}

// stackDataSourceModel is the stack's attributes and its latest run.
type stackDataSourceModel struct {
	stackModel
	LatestRun types.Object `tfsdk:"latest_run"`
}

func (d *stackDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name")),
		datasourcevalidator.RequiredTogether(path.MatchRoot("name"), path.MatchRoot("space_id")),
	}
}

func (d *stackDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *stackDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data stackDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := requireClient(d.data, &resp.Diagnostics)
	if client == nil {
		return
	}
	var found *orbitapi.Stack
	if !data.ID.IsNull() {
		id := data.ID.ValueString()
		stack, err := client.Stacks.Get(ctx, id)
		if orbitapi.IsNotFound(err) {
			resp.Diagnostics.AddAttributeError(path.Root("id"), "Stack not found",
				fmt.Sprintf("No stack with id %q exists, or the API key has no read role on its space.", id))
			return
		}
		if err != nil {
			resp.Diagnostics.AddError("Unable to read stack", err.Error())
			return
		}
		if !data.SpaceID.IsNull() && data.SpaceID.ValueString() != stack.SpaceID {
			resp.Diagnostics.AddAttributeError(path.Root("space_id"), "Stack not in this space",
				fmt.Sprintf("Stack %q lives in space %q, not %q.", id, stack.SpaceID, data.SpaceID.ValueString()))
			return
		}
		found = stack
	} else {
		name, spaceID := data.Name.ValueString(), data.SpaceID.ValueString()
		stacks, err := client.Stacks.ListAll(ctx, orbitapi.ListOptions{Name: name, SpaceID: spaceID})
		if err != nil {
			resp.Diagnostics.AddError("Unable to read stack", err.Error())
			return
		}
		var matches []orbitapi.Stack
		for _, st := range stacks {
			if st.Name == name && st.SpaceID == spaceID {
				matches = append(matches, st)
			}
		}
		switch len(matches) {
		case 0:
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Stack not found",
				fmt.Sprintf("No stack named %q exists in space %q, or the API key has no read role on that space.", name, spaceID))
			return
		case 1:
			found = &matches[0]
		default:
			resp.Diagnostics.AddAttributeError(path.Root("name"), "More than one stack found",
				fmt.Sprintf("%d stacks in space %q are named %q; select one by id instead.", len(matches), spaceID, name))
			return
		}
	}
	data.fromAPI(found)
	latest, diags := latestRun(ctx, client, found.ID)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	data.LatestRun = latest
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}
