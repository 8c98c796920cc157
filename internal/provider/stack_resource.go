package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ resource.ResourceWithConfigure   = (*stackResource)(nil)
	_ resource.ResourceWithImportState = (*stackResource)(nil)
)

// NewStackResource is the orbit_stack resource.
func NewStackResource() resource.Resource { return &stackResource{} }

type stackResource struct {
	data *providerData
}

type stackModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
	Labels      types.Set    `tfsdk:"labels"`
}

func (r *stackResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack"
}

func (r *stackResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = stackSchema()
}

func stackSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "A stack: one unit of infrastructure in a space. Orbit records its runs; bind it to a repository with `orbit_stack_vcs_binding`.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("stack"),
			"name": schema.StringAttribute{
				MarkdownDescription: "Name, 1-100 characters, not blank.",
				Required:            true,
				Validators:          objectNameValidators(),
			},
			"space_id": schema.StringAttribute{
				MarkdownDescription: "Space the stack lives in. Changing it moves the stack (the key needs `write` on both spaces).",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"description": descriptionAttribute(),
			"labels":      labelsAttribute(),
		},
	}
}

func (r *stackResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *stackModel) fromAPI(in *orbitapi.Stack) {
	m.ID = types.StringValue(in.ID)
	m.Name = types.StringValue(in.Name)
	m.SpaceID = types.StringValue(in.SpaceID)
	m.Description = types.StringValue(in.Description)
	m.Labels = labelsToSet(in.Labels)
}

// ref names the stack for read_semantics.go.
func (m stackModel) ref() objectRef {
	return objectRef{Kind: "stack", ID: m.ID.ValueString(), SpaceID: m.SpaceID.ValueString()}
}

func (m stackModel) request(ctx context.Context, diags *diag.Diagnostics) orbitapi.StackRequest {
	return orbitapi.StackRequest{
		Name:        m.Name.ValueString(),
		SpaceID:     m.SpaceID.ValueString(),
		Description: m.Description.ValueString(),
		Labels:      labelsFromSet(ctx, m.Labels, diags),
	}
}

func (r *stackResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan stackModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	created, err := client.Stacks.Create(ctx, plan.request(ctx, &resp.Diagnostics))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not create stack", err, stackSchema().Attributes)
		return
	}
	plan.fromAPI(created)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *stackResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state stackModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	current, err := client.Stacks.Get(ctx, state.ID.ValueString())
	if err != nil {
		r.data.handleReadError(ctx, resp, err, state.ref())
		return
	}
	state.fromAPI(current)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &state)...)
}

func (r *stackResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, state stackModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	updated, err := client.Stacks.Update(ctx, state.ID.ValueString(), plan.request(ctx, &resp.Diagnostics))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not update stack", err, stackSchema().Attributes)
		return
	}
	plan.fromAPI(updated)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *stackResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state stackModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	r.data.handleDeleteError(ctx, resp, client.Stacks.Delete(ctx, state.ID.ValueString()), state.ref(), "")
}

func (r *stackResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
