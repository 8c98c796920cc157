package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ resource.ResourceWithConfigure   = (*stackVCSBindingResource)(nil)
	_ resource.ResourceWithImportState = (*stackVCSBindingResource)(nil)
)

// NewStackVCSBindingResource is the orbit_stack_vcs_binding resource.
func NewStackVCSBindingResource() resource.Resource { return &stackVCSBindingResource{} }

type stackVCSBindingResource struct {
	data *providerData
}

type stackVCSBindingModel struct {
	ID              types.String `tfsdk:"id"`
	StackID         types.String `tfsdk:"stack_id"`
	IntegrationID   types.String `tfsdk:"integration_id"`
	Namespace       types.String `tfsdk:"namespace"`
	Repository      types.String `tfsdk:"repository"`
	Branch          types.String `tfsdk:"branch"`
	ProjectRoot     types.String `tfsdk:"project_root"`
	ProjectGlobs    types.Set    `tfsdk:"additional_project_globs"`
	PullRequestRuns types.Bool   `tfsdk:"pull_request_runs"`
	ProviderType    types.String `tfsdk:"provider_type"`
	Status          types.String `tfsdk:"status"`
	RepositoryURL   types.String `tfsdk:"repository_url"`
}

func (r *stackVCSBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stack_vcs_binding"
}

func (r *stackVCSBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = stackVCSBindingSchema()
}

func stackVCSBindingSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "Binds a stack to one Bitbucket repository and branch through one integration (one binding per stack). " +
			"Deleting the integration detaches the binding: the stack and the binding stay, the stack takes no webhooks and refuses manual triggers, " +
			"and the next plan shows an in-place update that re-attaches it to the configured integration.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The stack id (a stack has at most one binding).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"stack_id": schema.StringAttribute{
				MarkdownDescription: "The stack to bind. Changing it replaces the binding.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"integration_id": schema.StringAttribute{
				MarkdownDescription: "A Bitbucket Cloud or Data Center integration visible from the stack's space: a default integration, one in the stack's space, or one in a space the stack's space inherits from. Changing it moves the binding in place (and re-attaches a detached one).",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "Bitbucket Cloud workspace slug (e.g. `acme`) or Bitbucket Data Center project key in upper case (e.g. `PLAT`, or `~USER` for a personal project), according to the integration's provider type.",
				Required:            true,
				Validators:          namespaceValidators(),
			},
			"repository": schema.StringAttribute{
				MarkdownDescription: "Repository slug (lower case).",
				Required:            true,
				Validators:          repositoryValidators(),
			},
			"branch": schema.StringAttribute{
				MarkdownDescription: "Tracked branch: a push to it starts a tracked run. Defaults to `main`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("main"),
				Validators:          branchValidators(),
			},
			"project_root": schema.StringAttribute{
				MarkdownDescription: "Directory of the stack inside the repository, relative (no leading `/`, no `..`). " +
					"A push to `branch` or a pull request runs the stack only when it changes a path under it or matching `additional_project_globs`; " +
					"with the default `\"\"`, the repository root, every change runs it.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(""),
				Validators: projectRootValidators(),
			},
			"additional_project_globs": projectGlobsAttribute(),
			"pull_request_runs": schema.BoolAttribute{
				MarkdownDescription: "Whether pull requests against the repository start proposed runs. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"provider_type": schema.StringAttribute{
				MarkdownDescription: "Provider type of the integration: `bitbucket_cloud` or `bitbucket_datacenter`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stateUnlessChanged(path.Root("integration_id"))},
			},
			"status": schema.StringAttribute{
				MarkdownDescription: "`attached`, or `detached` once the integration was deleted. A detached binding shows in the next plan as an update to `attached`, which re-attaches it to `integration_id`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{plannedAttached{}},
			},
			"repository_url": schema.StringAttribute{
				MarkdownDescription: "Web address of the repository: on bitbucket.org for Cloud, on the integration's `user_facing_host` for Data Center.",
				Computed:            true,
				PlanModifiers: []planmodifier.String{stateUnlessChanged(
					path.Root("integration_id"), path.Root("namespace"), path.Root("repository"))},
			},
		},
	}
}

func (r *stackVCSBindingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m *stackVCSBindingModel) fromAPI(b *orbitapi.StackVCSBinding) {
	m.ID = types.StringValue(b.StackID)
	m.StackID = types.StringValue(b.StackID)
	m.IntegrationID = types.StringValue(b.IntegrationID)
	m.Namespace = types.StringValue(b.Namespace)
	m.Repository = types.StringValue(b.Repository)
	m.Branch = types.StringValue(b.Branch)
	m.ProjectRoot = types.StringValue(b.ProjectRoot)
	m.ProjectGlobs = projectGlobsValue(b.AdditionalProjectGlobs)
	m.PullRequestRuns = types.BoolValue(b.PullRequestRuns)
	m.ProviderType = types.StringValue(b.ProviderType)
	m.Status = types.StringValue(b.Status)
	m.RepositoryURL = types.StringValue(b.RepositoryURL)
}

func (m stackVCSBindingModel) request(ctx context.Context) orbitapi.StackVCSBindingRequest {
	return orbitapi.StackVCSBindingRequest{
		AdditionalProjectGlobs: projectGlobsOf(ctx, m.ProjectGlobs),
		IntegrationID:          m.IntegrationID.ValueString(),
		Namespace:              m.Namespace.ValueString(),
		Repository:             m.Repository.ValueString(),
		Branch:                 m.Branch.ValueString(),
		ProjectRoot:            m.ProjectRoot.ValueString(),
		PullRequestRuns:        m.PullRequestRuns.ValueBool(),
	}
}

func (r *stackVCSBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.put(ctx, req.Plan, &resp.State, resp.Private, &resp.Diagnostics, "Could not bind stack")
}

// put writes the planned binding and stores the answer: create and update are the
// same PUT on the stack's binding.
func (r *stackVCSBindingResource) put(ctx context.Context, planned tfsdk.Plan, state *tfsdk.State, private privateSetter, diags *diag.Diagnostics, failure string) {
	client := requireClient(r.data, diags)
	var plan stackVCSBindingModel
	diags.Append(getModel(planned.Raw, &plan)...)
	if diags.HasError() || client == nil {
		return
	}
	bound, err := client.Stacks.PutBinding(ctx, plan.StackID.ValueString(), plan.request(ctx))
	if err != nil {
		addAPIError(diags, failure, err, stackVCSBindingSchema().Attributes)
		return
	}
	plan.fromAPI(bound)
	diags.Append(setModel(&state.Raw, &plan)...)
	rememberStackSpace(ctx, private, bound, diags)
}

func (r *stackVCSBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state stackVCSBindingModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	current, err := client.Stacks.GetBinding(ctx, state.StackID.ValueString())
	if err != nil {
		r.data.handleReadError(ctx, resp, err, bindingRef(ctx, state.StackID.ValueString(), req.Private, &resp.Diagnostics))
		return
	}
	if current.Status == orbitapi.BindingDetached {
		tflog.Warn(ctx, fmt.Sprintf("The VCS binding of stack %q is detached: %s", current.StackID, current.DetachedReason))
	}
	state.fromAPI(current)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &state)...)
	rememberStackSpace(ctx, resp.Private, current, &resp.Diagnostics)
}

func (r *stackVCSBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.put(ctx, req.Plan, &resp.State, resp.Private, &resp.Diagnostics, "Could not update VCS binding")
}

func (r *stackVCSBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state stackVCSBindingModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	r.data.handleDeleteError(ctx, resp, client.Stacks.DeleteBinding(ctx, state.StackID.ValueString()),
		bindingRef(ctx, state.StackID.ValueString(), req.Private, &resp.Diagnostics), "")
}

// ImportState takes the stack id.
func (r *stackVCSBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("stack_id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// A binding has no space of its own: it goes with its stack. The stack's space is kept
// in private state, so that read_semantics.go can tell whether a not_found means the
// binding is gone (the key can read that space) or only hidden from the key.
const privateStackSpace = "stack_space_id"

type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func rememberStackSpace(ctx context.Context, private privateSetter, b *orbitapi.StackVCSBinding, diags *diag.Diagnostics) {
	raw, err := json.Marshal(b.StackSpaceID)
	if err != nil {
		diags.AddError("Could not record the stack's space", err.Error())
		return
	}
	diags.Append(private.SetKey(ctx, privateStackSpace, raw)...)
}

// bindingRef names the binding for read_semantics.go; SpaceID is "" after an import,
// before the first successful read.
func bindingRef(ctx context.Context, stackID string, private privateState, diags *diag.Diagnostics) objectRef {
	ref := objectRef{Kind: "VCS binding of stack", ID: stackID}
	raw, d := private.GetKey(ctx, privateStackSpace)
	diags.Append(d...)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ref.SpaceID); err != nil {
			ref.SpaceID = ""
		}
	}
	return ref
}

// plannedAttached plans status "attached": after any successful apply the binding is
// attached. A binding found detached on refresh thus shows as an update (detached ->
// attached) that re-attaches it.
type plannedAttached struct{}

func (plannedAttached) Description(context.Context) string {
	return "plans `attached`: applying re-attaches a detached binding"
}
func (m plannedAttached) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (plannedAttached) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	resp.PlanValue = types.StringValue(orbitapi.BindingAttached)
}

// stateUnlessChanged keeps a computed value from state unless one of the attributes it
// derives from changes in the plan (then it is unknown until apply).
func stateUnlessChanged(sources ...path.Path) planmodifier.String {
	return stateUnlessChangedModifier{sources}
}

type stateUnlessChangedModifier struct{ sources []path.Path }

func (m stateUnlessChangedModifier) Description(context.Context) string {
	return "keeps the prior value unless an attribute it derives from changes"
}
func (m stateUnlessChangedModifier) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (m stateUnlessChangedModifier) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || !req.PlanValue.IsUnknown() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, p := range m.sources {
		var planned, prior types.String
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, p, &planned)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, p, &prior)...)
		if resp.Diagnostics.HasError() || !planned.Equal(prior) {
			return
		}
	}
	resp.PlanValue = req.StateValue
}
