package provider

import (
	"context"
	"encoding/json"
	"errors"
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
			"and the next plan shows an in-place update that re-attaches it to the configured integration.\n\n" +
			"Creating a binding never takes over one: a stack already bound (by another configuration, or by hand) fails the apply on `stack_id` " +
			"with the `import` block and the `terraform import` command (by the stack id) that adopt the existing binding. " +
			"Updates and deletes name the binding's version this state last read, so they act on no binding made since by someone else.\n\n" +
			"orbit-server checks at apply, with the integration's credential, that `namespace`/`repository` exists in Bitbucket and is readable: " +
			"a missing one fails the apply naming it, and a Bitbucket that cannot be reached is an error to retry (nothing is stored, state is kept). " +
			"A manual trigger of the stack asks Bitbucket, with the integration's credential, for the head of `branch` and runs on it: a branch or repository Bitbucket does not have " +
			"(a deleted branch among them) fails the trigger naming namespace/repository/branch, and a Bitbucket that cannot be reached is an error to retry; a trigger is idempotent (`Idempotency-Key`).\n\n" +
			"**Renames.** When Bitbucket renames or moves the repository, it sends the repository event (`repo:updated`, `repo:modified`; among `orbit_bitbucket_repository_webhook`'s default events) " +
			"and orbit-server points the binding at the new name: pushes to the renamed repository keep starting runs, and the next plan shows `repository` (or `namespace`) " +
			"changing from the configured old name to the new one, with a warning. Edit the configuration to the new name; the plan is then empty. " +
			"The repository's hook moves with it in Bitbucket and `orbit_bitbucket_repository_webhook` follows it.\n\n" +
			"**Runs.** A push to `branch` starts a tracked run (a push that deletes the branch, or pushes a tag, starts nothing); " +
			"a pull request opened, or whose source moves, starts a proposed run when `pull_request_runs` is true. " +
			"A run is `queued` until its result is reported (`succeeded`, `failed`, `canceled`), and its commit status follows (INPROGRESS, then SUCCESSFUL, FAILED or stopped). " +
			"A pull request merged, declined or deleted ends its proposed runs still queued as `canceled` and sets their statuses to stopped " +
			"(Cloud `STOPPED`, Data Center `CANCELLED`): the repository's hook must send the declined and deleted events, which `orbit_bitbucket_repository_webhook` does by default.",
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
		PullRequestRuns:        new(m.PullRequestRuns.ValueBool()),
	}
}

// Create binds a stack that has no binding. It never takes one over: a stack bound
// by another configuration (or by hand) is an error that says how to import it.
func (r *stackVCSBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, &resp.State, resp.Private, &resp.Diagnostics, "Could not bind stack",
		func(client *orbitapi.Client, stackID string, in orbitapi.StackVCSBindingRequest) (*orbitapi.StackVCSBinding, error) {
			return client.Stacks.CreateBinding(ctx, stackID, in)
		})
}

// write sends the planned binding with send and stores the answer.
func (r *stackVCSBindingResource) write(ctx context.Context, planned tfsdk.Plan, state *tfsdk.State, private privateSetter, diags *diag.Diagnostics, failure string,
	send func(*orbitapi.Client, string, orbitapi.StackVCSBindingRequest) (*orbitapi.StackVCSBinding, error)) {
	client := requireClient(r.data, diags)
	var plan stackVCSBindingModel
	diags.Append(getModel(planned.Raw, &plan)...)
	if diags.HasError() || client == nil {
		return
	}
	bound, err := send(client, plan.StackID.ValueString(), plan.request(ctx))
	if err != nil {
		addBindingError(diags, failure, plan.StackID.ValueString(), err)
		return
	}
	plan.fromAPI(bound)
	diags.Append(setModel(&state.Raw, &plan)...)
	rememberBinding(ctx, private, bound, diags)
}

// addBindingError adds the diagnostic of a failed binding write: for a stack bound
// elsewhere, how to import that binding; for a binding changed since this state read
// it, that nothing was written.
func addBindingError(diags *diag.Diagnostics, summary, stackID string, err error) {
	var apiErr *orbitapi.APIError
	switch {
	case orbitapi.IsConflict(err) && errors.As(err, &apiErr) && apiErr.Field == "stack_id":
		diags.AddAttributeError(path.Root("stack_id"), summary, err.Error()+importBindingAdvice(stackID))
	case orbitapi.IsPreconditionFailed(err):
		diags.AddError(summary, err.Error()+bindingChangedAdvice)
	default:
		addAPIError(diags, summary, err, stackVCSBindingSchema().Attributes)
	}
}

// importBindingAdvice: a create never takes over another configuration's binding.
func importBindingAdvice(stackID string) string {
	return fmt.Sprintf("\n\nThe stack is already bound, by another configuration or by hand; creating a binding never replaces it "+
		"(and destroying either configuration would then delete the binding the other one relies on). "+
		"If this configuration should manage that binding, import it by the stack id: add\n\n"+
		"  import {\n    to = <address of this orbit_stack_vcs_binding>\n    id = %q\n  }\n\n"+
		"or run terraform import <address of this orbit_stack_vcs_binding> %s, and remove it from the other configuration's state "+
		"(terraform state rm there). Otherwise remove this resource.", stackID, stackID)
}

const bindingChangedAdvice = "\n\nThe binding was replaced, or deleted and made again, since this state last read it, " +
	"so this apply changed nothing rather than act on a binding it does not describe. Run terraform plan again to see the binding as it is now."

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
	if from := current.RenamedFrom; from != nil && from.Namespace == state.Namespace.ValueString() && from.Repository == state.Repository.ValueString() {
		resp.Diagnostics.AddAttributeWarning(path.Root("repository"), "Repository renamed in Bitbucket",
			fmt.Sprintf("Bitbucket reported that %s/%s was renamed or moved to %s/%s, and orbit-server's binding of stack %q now names %s/%s (pushes to it start runs). "+
				"Edit the configuration to namespace %q and repository %q: applying the old name would point the binding back at a repository that no longer exists.",
				from.Namespace, from.Repository, current.Namespace, current.Repository, current.StackID, current.Namespace, current.Repository, current.Namespace, current.Repository))
	}
	state.fromAPI(current)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &state)...)
	rememberBinding(ctx, resp.Private, current, &resp.Diagnostics)
}

// Update replaces the binding this state read (If-Match its version), and no other.
func (r *stackVCSBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	version := bindingVersion(ctx, req.Private, &resp.Diagnostics)
	r.write(ctx, req.Plan, &resp.State, resp.Private, &resp.Diagnostics, "Could not update VCS binding",
		func(client *orbitapi.Client, stackID string, in orbitapi.StackVCSBindingRequest) (*orbitapi.StackVCSBinding, error) {
			return client.Stacks.UpdateBinding(ctx, stackID, version, in)
		})
}

func (r *stackVCSBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state stackVCSBindingModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	err := client.Stacks.DeleteBinding(ctx, state.StackID.ValueString(), bindingVersion(ctx, req.Private, &resp.Diagnostics))
	if orbitapi.IsPreconditionFailed(err) {
		resp.Diagnostics.AddError("Could not delete VCS binding of stack", err.Error()+bindingChangedAdvice)
		return
	}
	r.data.handleDeleteError(ctx, resp, err, bindingRef(ctx, state.StackID.ValueString(), req.Private, &resp.Diagnostics), "")
}

// ImportState takes the stack id.
func (r *stackVCSBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("stack_id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// A binding has no space of its own: it goes with its stack. The stack's space is kept
// in private state, so that read_semantics.go can tell whether a not_found means the
// binding is gone (the key can read that space) or only hidden from the key. The
// binding's version (its ETag) is kept there too: updates and deletes name it, so they
// act only on the binding this state read.
const (
	privateStackSpace     = "stack_space_id"
	privateBindingVersion = "binding_version"
)

type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func rememberBinding(ctx context.Context, private privateSetter, b *orbitapi.StackVCSBinding, diags *diag.Diagnostics) {
	for key, value := range map[string]string{privateStackSpace: b.StackSpaceID, privateBindingVersion: b.Version} {
		raw, err := json.Marshal(value)
		if err != nil {
			diags.AddError("Could not record the binding in private state", err.Error())
			return
		}
		diags.Append(private.SetKey(ctx, key, raw)...)
	}
}

// bindingVersion is the version this state last read. A state written before
// versions existed has none until its next refresh; it acts on whatever binding the
// stack has ("*"), as it always did.
func bindingVersion(ctx context.Context, private privateState, diags *diag.Diagnostics) string {
	raw, d := private.GetKey(ctx, privateBindingVersion)
	diags.Append(d...)
	var version string
	if len(raw) == 0 || json.Unmarshal(raw, &version) != nil || version == "" {
		return "*"
	}
	return version
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
