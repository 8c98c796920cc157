package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ resource.ResourceWithConfigure   = (*spaceResource)(nil)
	_ resource.ResourceWithImportState = (*spaceResource)(nil)
)

// NewSpaceResource is the orbit_space resource.
func NewSpaceResource() resource.Resource { return &spaceResource{} }

type spaceResource struct {
	data *providerData
}

type spaceModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	ParentSpaceID   types.String `tfsdk:"parent_space_id"`
	InheritEntities types.Bool   `tfsdk:"inherit_entities"`
	Description     types.String `tfsdk:"description"`
	Labels          types.Set    `tfsdk:"labels"`
}

func (r *spaceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_space"
}

func (r *spaceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = spaceSchema()
}

func spaceSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "A space: a node of Orbit's space tree that holds stacks and integrations and scopes API key roles.",
		Attributes: map[string]schema.Attribute{
			"id": idAttribute("space"),
			"name": schema.StringAttribute{
				MarkdownDescription: "Name, 1-100 characters, not blank.",
				Required:            true,
				Validators:          objectNameValidators(),
			},
			"parent_space_id": schema.StringAttribute{
				MarkdownDescription: "Parent space. Defaults to `root`. Changing it moves the space.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(orbitapi.RootSpaceID),
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"inherit_entities": schema.BoolAttribute{
				MarkdownDescription: "Whether roles held on the parent space apply to this space too. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"description": descriptionAttribute(),
			"labels":      labelsAttribute(),
		},
	}
}

func (r *spaceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *spaceModel) fromAPI(in *orbitapi.Space) {
	m.ID = types.StringValue(in.ID)
	m.Name = types.StringValue(in.Name)
	m.ParentSpaceID = types.StringValue(in.ParentSpaceID)
	m.InheritEntities = types.BoolValue(in.InheritEntities)
	m.Description = types.StringValue(in.Description)
	m.Labels = labelsToSet(in.Labels)
}

// request builds the API request from the planned values.
func (m spaceModel) request(ctx context.Context, diags *diag.Diagnostics) orbitapi.SpaceRequest {
	return orbitapi.SpaceRequest{
		Name:            m.Name.ValueString(),
		ParentSpaceID:   m.ParentSpaceID.ValueString(),
		InheritEntities: m.InheritEntities.ValueBool(),
		Description:     m.Description.ValueString(),
		Labels:          labelsFromSet(ctx, m.Labels, diags),
	}
}

// ref names the space for read_semantics.go. A key can read a space through its
// parent only when the space inherits entities; otherwise only a role on the space
// itself (or admin on root) shows it, and such a role goes away with the space.
func (m spaceModel) ref() objectRef {
	ref := objectRef{Kind: "space", ID: m.ID.ValueString(), SpaceID: m.ID.ValueString()}
	if m.InheritEntities.ValueBool() && !m.ParentSpaceID.IsNull() {
		ref.SpaceID = m.ParentSpaceID.ValueString()
	}
	return ref
}

func (r *spaceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan spaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := plan.request(ctx, &resp.Diagnostics)
	created, err := client.Spaces.Create(ctx, in)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not create space", err, spaceSchema().Attributes)
		return
	}
	plan.fromAPI(created)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *spaceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state spaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	current, err := client.Spaces.Get(ctx, state.ID.ValueString())
	if err != nil {
		r.data.handleReadError(ctx, resp, err, state.ref())
		return
	}
	state.fromAPI(current)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *spaceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, state spaceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := plan.request(ctx, &resp.Diagnostics)
	updated, err := client.Spaces.Update(ctx, state.ID.ValueString(), in)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not update space", err, spaceSchema().Attributes)
		return
	}
	plan.fromAPI(updated)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *spaceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state spaceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	r.data.handleDeleteError(ctx, resp, client.Spaces.Delete(ctx, state.ID.ValueString()), state.ref(),
		"A space can be deleted only when it holds no child spaces, stacks or integrations; delete or move those first.")
}

func (r *spaceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
