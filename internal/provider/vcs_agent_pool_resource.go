package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
)

var (
	_ resource.ResourceWithConfigure   = (*vcsAgentPoolResource)(nil)
	_ resource.ResourceWithImportState = (*vcsAgentPoolResource)(nil)
)

// NewVCSAgentPoolResource is the orbit_vcs_agent_pool resource.
func NewVCSAgentPoolResource() resource.Resource { return &vcsAgentPoolResource{} }

type vcsAgentPoolResource struct {
	data *providerData
}

type vcsAgentPoolModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
}

const vcsAgentPoolKind = "VCS agent pool"

// poolNameValidators: a pool's name goes into api_host = private://<name>.
func poolNameValidators() []validator.String {
	return []validator.String{
		stringvalidator.RegexMatches(rules.Pool,
			"must be 1-63 characters of lowercase letters, digits, _ and -, starting with a letter or digit (integrations name the pool in api_host = private://<name>)"),
	}
}

func (r *vcsAgentPoolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vcs_agent_pool"
}

func (r *vcsAgentPoolResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = vcsAgentPoolSchema()
}

func vcsAgentPoolSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "A VCS agent pool: the agents (`orbit-vcs-agent`) that run inside a private network, connect out to orbit-server " +
			"and carry its Bitbucket API calls for the Data Center integrations whose `api_host` is `private://<name>`. " +
			"Agents connect with a pool token: issue one with the `orbit_vcs_agent_pool_token` ephemeral resource.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("pool"),
			"name": schema.StringAttribute{
				MarkdownDescription: "Name, unique across the server: integrations name the pool in `api_host = \"private://<name>\"`. " +
					"1-63 lowercase letters, digits, `_` and `-`, starting with a letter or digit. Changing it replaces the pool.",
				Required:      true,
				Validators:    poolNameValidators(),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"space_id": schema.StringAttribute{
				MarkdownDescription: "Space the pool lives in. Integrations of this space, and of the spaces below it that inherit entities, may use it. " +
					"Managing the pool needs the `admin` role on it.",
				Required:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"description": descriptionAttribute(),
		},
	}
}

func (r *vcsAgentPoolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *vcsAgentPoolModel) fromAPI(p *orbitapi.VCSAgentPool) {
	m.ID = types.StringValue(p.ID)
	m.Name = types.StringValue(p.Name)
	m.SpaceID = types.StringValue(p.SpaceID)
	m.Description = types.StringValue(p.Description)
}

func (m vcsAgentPoolModel) ref() objectRef {
	return objectRef{Kind: vcsAgentPoolKind, ID: m.ID.ValueString(), SpaceID: m.SpaceID.ValueString()}
}

func (m vcsAgentPoolModel) request() orbitapi.VCSAgentPoolRequest {
	return orbitapi.VCSAgentPoolRequest{Name: m.Name.ValueString(), SpaceID: m.SpaceID.ValueString(), Description: m.Description.ValueString()}
}

func (r *vcsAgentPoolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan vcsAgentPoolModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	created, err := client.VCSAgentPools.Create(ctx, plan.request())
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not create VCS agent pool", err, vcsAgentPoolSchema().Attributes)
		return
	}
	plan.fromAPI(created)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *vcsAgentPoolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state vcsAgentPoolModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	current, err := client.VCSAgentPools.Get(ctx, state.ID.ValueString())
	if err != nil {
		r.data.handleReadError(ctx, resp, err, state.ref())
		return
	}
	state.fromAPI(current)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &state)...)
}

func (r *vcsAgentPoolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, state vcsAgentPoolModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	updated, err := client.VCSAgentPools.Update(ctx, state.ID.ValueString(), plan.request())
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not update VCS agent pool", err, vcsAgentPoolSchema().Attributes)
		return
	}
	plan.fromAPI(updated)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *vcsAgentPoolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state vcsAgentPoolModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	r.data.handleDeleteError(ctx, resp, client.VCSAgentPools.Delete(ctx, state.ID.ValueString()), state.ref(),
		"Change or delete the Data Center integrations whose api_host names this pool first.")
}

func (r *vcsAgentPoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
