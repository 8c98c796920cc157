package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
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

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/retry"
)

var (
	_ resource.ResourceWithConfigure   = (*repositoryWebhookResource)(nil)
	_ resource.ResourceWithImportState = (*repositoryWebhookResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*repositoryWebhookResource)(nil)
)

const defaultWebhookTitle = "Orbit"

var (
	// namespacePattern covers Cloud workspace slugs and Data Center project keys
	// (including personal projects, ~user).
	namespacePattern = regexp.MustCompile(`^~?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	repoSlugPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
)

// NewRepositoryWebhookResource is the orbit_bitbucket_repository_webhook resource.
func NewRepositoryWebhookResource() resource.Resource { return &repositoryWebhookResource{} }

type repositoryWebhookResource struct {
	data *providerData
}

type repositoryWebhookModel struct {
	ID                   types.String `tfsdk:"id"`
	IntegrationID        types.String `tfsdk:"integration_id"`
	Namespace            types.String `tfsdk:"namespace"`
	Repository           types.String `tfsdk:"repository"`
	Title                types.String `tfsdk:"title"`
	Events               types.Set    `tfsdk:"events"`
	Active               types.Bool   `tfsdk:"active"`
	SkipCertVerification types.Bool   `tfsdk:"skip_cert_verification"`
	HookID               types.String `tfsdk:"hook_id"`
	URL                  types.String `tfsdk:"url"`
	ProviderType         types.String `tfsdk:"provider_type"`
	SecretFingerprint    types.String `tfsdk:"secret_fingerprint"`
	// WebhookSecretVersion is configuration only (the integration's, by reference):
	// a change of it re-keys the hook.
	WebhookSecretVersion types.Int64 `tfsdk:"webhook_secret_version"`
}

func (m *repositoryWebhookModel) where() string {
	return "repository " + m.Namespace.ValueString() + "/" + m.Repository.ValueString()
}

func (m *repositoryWebhookModel) importID() string {
	return strings.Join([]string{m.IntegrationID.ValueString(), m.Namespace.ValueString(), m.Repository.ValueString(), m.HookID.ValueString()}, "/")
}

func (r *repositoryWebhookResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bitbucket_repository_webhook"
}

func (r *repositoryWebhookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The webhook of one Bitbucket repository that delivers to an Orbit integration, installed and kept right by Terraform. " +
			"The URL and signing secret come from orbit-server, never from configuration, and the secret never reaches state. " +
			"Creating it adopts a hook of the repository that already has the integration's URL instead of adding a second one. " +
			"A refresh reads the hook once from Bitbucket and the integration once per provider run, and shows what changed outside Terraform " +
			"(hook deleted, disabled, URL, events or title changed, and on Bitbucket Cloud a removed secret). " +
			"Set `webhook_secret_version` to the integration's own (`webhook_secret_version = orbit_bitbucket_cloud_integration.main.webhook_secret_version`): raising the integration's version then rotates the secret and re-keys this hook in the same apply, and the next plan is empty. " +
			"Without it, a rotation re-keys the hook one apply later (the next plan shows `secret_fingerprint` changing), as it does after a rotation made outside Terraform. " +
			"Bitbucket never shows a hook's secret, so a secret replaced by hand with another value cannot be seen (nor, on current Data Center servers, a removed one): raise the integration's `webhook_secret_version` to re-key every hook. " +
			"See the guide [Rotating the webhook secret](../guides/rotating-the-webhook-secret.md).\n\n" +
			"**Bitbucket permissions:** the provider's `bitbucket_cloud` block needs an API token with the webhook scopes (`read:webhook:bitbucket`, `write:webhook:bitbucket`, and `delete:webhook:bitbucket` to remove a hook) and `read:repository:bitbucket`, " +
			"or admin on the repository; the `bitbucket_datacenter` block needs a token with **REPO_ADMIN** on the repository. The Orbit API key needs `admin` on the integration's space to read the secret it installs.\n\n" +
			"**Rate limit:** Bitbucket Cloud limits webhook endpoints to about 1,000 requests an hour; the provider retries 429 answers with back-off, so very large refreshes slow down rather than fail.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`integration_id/namespace/repository/hook_id`, also the import ID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"integration_id": schema.StringAttribute{
				MarkdownDescription: "ID of the Orbit integration (Bitbucket Cloud or Data Center) whose webhook URL and secret the hook uses. Changing it replaces the hook.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
				PlanModifiers:       replace,
			},
			"namespace": schema.StringAttribute{
				MarkdownDescription: "Bitbucket Cloud workspace slug, or Bitbucket Data Center project key. Changing it replaces the hook (but see `repository` for a move reported by Bitbucket).",
				Required:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(namespacePattern, "must be a workspace slug or project key")},
				PlanModifiers:       []planmodifier.String{replaceUnlessMoved("namespace")},
			},
			"repository": schema.StringAttribute{
				MarkdownDescription: "Repository slug. Changing it replaces the hook. When Bitbucket renames or moves the repository, the hook moves with it: once orbit-server has received the repository event (`repo:updated`, `repo:modified`, among the default `events`) and a binding of the integration names the new name, a refresh follows the hook there, and the plan shows `namespace`/`repository` changing in place (never a replacement); edit the configuration to the new name.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(repoSlugPattern, "must be a repository slug (letters, digits, `_`, `.` and `-`)")},
				PlanModifiers:       []planmodifier.String{replaceUnlessMoved("repository")},
			},
			"title": schema.StringAttribute{
				MarkdownDescription: "Title of the hook (Cloud `description`, Data Center `name`). Defaults to `" + defaultWebhookTitle + "`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultWebhookTitle),
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 255)},
			},
			"events": schema.SetAttribute{
				MarkdownDescription: "Event keys the hook sends. Defaults to the triggers Orbit needs for the integration's product: on Bitbucket Cloud `repo:push`, `repo:updated`, `pullrequest:created`, `pullrequest:updated`, `pullrequest:approved`, `pullrequest:unapproved`, `pullrequest:fulfilled`, `pullrequest:rejected`, `pullrequest:comment_created`; on Data Center `repo:refs_changed`, `repo:modified`, `pr:opened`, `pr:from_ref_updated`, `pr:modified`, `pr:reviewer:approved`, `pr:reviewer:unapproved`, `pr:merged`, `pr:declined`, `pr:deleted`, `pr:comment:added`. " +
					"This is deliberately more than a person usually ticks for a CI hook in Bitbucket's UI: the declined (`pullrequest:rejected`, `pr:declined`) and deleted (`pr:deleted`) events let orbit-server end the proposed runs of a closed pull request and set their commit statuses to stopped (Cloud `STOPPED`, Data Center `CANCELLED`) instead of leaving them in progress for ever; the repository events (`repo:updated`, `repo:modified`) report a rename or move of the repository, which the bindings follow. " +
					"A key the product does not have is an error at plan time.",
				ElementType: types.StringType,
				Optional:    true,
				Computed:    true,
				Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"active": schema.BoolAttribute{
				MarkdownDescription: "Whether Bitbucket delivers events to the hook. Defaults to `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
			},
			"skip_cert_verification": schema.BoolAttribute{
				MarkdownDescription: "Whether Bitbucket skips verifying orbit-server's TLS certificate (Data Center: the opposite of `sslVerificationRequired`). Defaults to `false`; leave it so unless orbit-server uses a certificate Bitbucket cannot verify.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"hook_id": schema.StringAttribute{
				MarkdownDescription: "Bitbucket's ID of the hook: the `{uuid}` on Cloud, the number on Data Center.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "URL the hook delivers to: the integration's `webhook_url`.",
				Computed:            true,
			},
			"provider_type": schema.StringAttribute{
				MarkdownDescription: "`bitbucket_cloud` or `bitbucket_datacenter`, from the integration.",
				Computed:            true,
			},
			"webhook_secret_version": schema.Int64Attribute{
				MarkdownDescription: "The integration's `webhook_secret_version`, by reference (`orbit_bitbucket_cloud_integration.main.webhook_secret_version`). " +
					"When it changes, the plan updates the hook in place, after the integration (which the reference orders first): the update installs the integration's secret as it is then, so a rotation by a raised version re-keys the hook in the same apply. " +
					"Not stored by orbit-server or Bitbucket. Optional: a hook without it is re-keyed by the apply after a rotation. Every change re-sends the secret, so adding it to an existing or imported hook plans one harmless update.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"secret_fingerprint": schema.StringAttribute{
				MarkdownDescription: "Fingerprint of the secret installed on the hook (the integration's `webhook_secret_fingerprint` when it was installed; empty when Bitbucket Cloud reports that the hook has no secret). Never the secret itself.",
				Computed:            true,
			},
		},
	}
}

func (r *repositoryWebhookResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// integration reads the hook's integration through the provider's shared cache.
func (r *repositoryWebhookResource) integration(ctx context.Context, id string) (*orbitapi.Integration, error) {
	return r.data.integrations.get(ctx, id)
}

// hooks picks the product adapter; in may be nil when the integration is gone (Data
// Center then needs api_url in the provider block).
func (r *repositoryWebhookResource) hooks(providerType string, in *orbitapi.Integration, diags *diag.Diagnostics) repositoryHooks {
	switch providerType {
	case orbitapi.ProviderBitbucketCloud:
		if c := r.data.cloudClient(diags); c != nil {
			return cloudHooks{client: c}
		}
	case orbitapi.ProviderBitbucketDataCenter:
		if c := r.data.dataCenterClient(in, diags); c != nil {
			return dataCenterHooks{client: c}
		}
	default:
		diags.AddError("Unknown integration type", fmt.Sprintf("Integration type %q has no Bitbucket webhooks this provider knows.", providerType))
	}
	return nil
}

// ModifyPlan fills in what comes from the integration: the URL, the fingerprint of
// its current secret (a rotation thus plans an update), the provider type, and the
// default events of its product; and rejects an event the product does not have.
func (r *repositoryWebhookResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config repositoryWebhookModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(req.Config.Raw, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.IntegrationID.IsUnknown() || r.data == nil || r.data.client == nil {
		plan.URL = types.StringUnknown()
		plan.ProviderType = types.StringUnknown()
		plan.SecretFingerprint = types.StringUnknown()
		if config.Events.IsNull() {
			plan.Events = types.SetUnknown(types.StringType)
		}
		resp.Diagnostics.Append(setModel(&resp.Plan.Raw, &plan)...)
		return
	}
	in, err := r.integration(ctx, plan.IntegrationID.ValueString())
	if orbitapi.IsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Integration not found",
			fmt.Sprintf("orbit-server has no integration %q that this API key may read, so the hook has no URL or secret to use.", plan.IntegrationID.ValueString()))
		return
	}
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Could not read the integration", err.Error())
		return
	}
	valid, required := productEvents(in.Provider)
	switch {
	case config.Events.IsNull():
		plan.Events = stringSet(required)
	case !config.Events.IsUnknown():
		var events []types.String
		resp.Diagnostics.Append(config.Events.ElementsAs(ctx, &events, false)...)
		for _, e := range events {
			if !e.IsUnknown() && !e.IsNull() && !slices.Contains(valid, e.ValueString()) {
				resp.Diagnostics.AddAttributeError(path.Root("events"), "Unknown webhook event",
					fmt.Sprintf("%q is not an event of %s repository webhooks (integration %s is %s). Valid keys: %s.",
						e.ValueString(), productName(in.Provider), in.Name, in.Provider, strings.Join(valid, ", ")))
			}
		}
	}
	// The Bitbucket credentials this hook needs: missing ones fail the plan, not the
	// apply (building a client sends no request).
	r.hooks(in.Provider, in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.URL = types.StringValue(in.WebhookURL)
	plan.ProviderType = types.StringValue(in.Provider)
	plan.SecretFingerprint = types.StringValue(in.WebhookSecretFingerprint)
	rekey, diags := secretVersionChanges(plan, req.State)
	resp.Diagnostics.Append(diags...)
	if rekey {
		// The integration, applied first, may rotate its secret in this very apply:
		// what the hook ends up with is known only then.
		plan.SecretFingerprint = types.StringUnknown()
	}
	resp.Diagnostics.Append(setModel(&resp.Plan.Raw, &plan)...)
}

// secretVersionChanges: the plan creates a hook with a webhook_secret_version, or
// changes (or drops) the one in state, so the hook is to be re-keyed in this apply.
func secretVersionChanges(plan repositoryWebhookModel, prior tfsdk.State) (bool, diag.Diagnostics) {
	if prior.Raw.IsNull() {
		return !plan.WebhookSecretVersion.IsNull(), nil
	}
	var state repositoryWebhookModel
	diags := getModel(prior.Raw, &state)
	if diags.HasError() {
		return false, diags
	}
	return !plan.WebhookSecretVersion.Equal(state.WebhookSecretVersion), nil
}

func productName(providerType string) string {
	if providerType == orbitapi.ProviderBitbucketDataCenter {
		return "Bitbucket Data Center"
	}
	return "Bitbucket Cloud"
}

// spec builds the hook wanted by plan for integration in, with its current secret.
func (r *repositoryWebhookResource) spec(ctx context.Context, plan *repositoryWebhookModel, in *orbitapi.Integration, diags *diag.Diagnostics) hookSpec {
	var events []string
	diags.Append(plan.Events.ElementsAs(ctx, &events, false)...)
	if len(events) == 0 {
		_, events = productEvents(in.Provider)
	}
	if in.WebhookSecret == "" {
		diags.AddError("Webhook secret not readable",
			fmt.Sprintf("The Orbit API key cannot read the webhook secret of integration %s (%s): installing or updating its hook on %s needs the admin role on the integration's space (root for a default integration). "+
				"The provider never installs a hook without a secret.", in.ID, in.Name, plan.where()))
	}
	return hookSpec{
		title:                plan.Title.ValueString(),
		url:                  in.WebhookURL,
		events:               events,
		active:               plan.Active.ValueBool(),
		skipCertVerification: plan.SkipCertVerification.ValueBool(),
		secret:               bitbucket.Secret(in.WebhookSecret),
	}
}

// fromHook refreshes the attributes Bitbucket reports.
func (m *repositoryWebhookModel) fromHook(h hookView) {
	m.HookID = types.StringValue(h.id)
	m.Title = types.StringValue(h.title)
	m.URL = types.StringValue(h.url)
	events := slices.Clone(h.events)
	slices.Sort(events)
	m.Events = stringSet(events)
	m.Active = types.BoolValue(h.active)
	m.SkipCertVerification = types.BoolValue(h.skipCertVerification)
	m.ID = types.StringValue(m.importID())
}

// installed records what an apply installed: the planned fingerprint when the plan
// knew it (a rotation between plan and apply then shows in the next plan), else (a
// changed webhook_secret_version, whose rotation came first in this apply) the
// integration's as the apply read it.
func (m *repositoryWebhookModel) installed(in *orbitapi.Integration) {
	if m.SecretFingerprint.IsUnknown() || m.SecretFingerprint.IsNull() {
		m.SecretFingerprint = types.StringValue(in.WebhookSecretFingerprint)
	}
	m.ProviderType = types.StringValue(in.Provider)
}

// createRetries bounds the list-then-create rounds of a webhook create that
// Bitbucket answers with a 5xx: the Bitbucket client's own policy for any other call
// (bitbucket.DefaultRetryPolicy: the same waits, attempt budget and window).
var createRetries = bitbucket.DefaultRetryPolicy

func (r *repositoryWebhookResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if requireClient(r.data, &resp.Diagnostics) == nil {
		return
	}
	var plan repositoryWebhookModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in, err := r.integration(ctx, plan.IntegrationID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Could not read the integration", err.Error())
		return
	}
	spec := r.spec(ctx, &plan, in, &resp.Diagnostics)
	hooks := r.hooks(in.Provider, in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, repo := plan.Namespace.ValueString(), plan.Repository.ValueString()

	// Adopt a hook that already delivers to this integration rather than add a second.
	// A create that Bitbucket answers with a 5xx may still have made the hook, so it is
	// never re-sent blind: the whole list-then-adopt-or-create step runs again, and a
	// hook that the failed create did make is adopted.
	var hook hookView
	started := time.Now()
	for attempt := 0; ; attempt++ {
		existing, err := hooks.list(ctx, ns, repo)
		if err != nil {
			addBitbucketError(&resp.Diagnostics, hooks.product(), "list the webhooks", plan.where(), err)
			return
		}
		if i := slices.IndexFunc(existing, func(h hookView) bool { return h.url == spec.url }); i >= 0 {
			tflog.Info(ctx, "adopting the existing webhook of "+plan.where()+" that delivers to the integration's URL", map[string]any{"hook_id": existing[i].id})
			hook, err = hooks.update(ctx, ns, repo, existing[i].id, spec)
			if err != nil {
				addBitbucketError(&resp.Diagnostics, hooks.product(), "update (adopt) webhook "+existing[i].id, plan.where(), err)
				return
			}
			break
		}
		hook, err = hooks.create(ctx, ns, repo, spec)
		if err == nil {
			break
		}
		var wait time.Duration
		again := false
		if apiErr, ok := bitbucket.AsAPIError(err); ok && apiErr.StatusCode >= 500 {
			wait, again = createRetries.Next(retry.Answer{Retries: attempt, Elapsed: time.Since(started),
				RetryAfter: apiErr.RetryAfter, HasRetryAfter: apiErr.RetryAfter > 0}, retry.Jitter)
		}
		if !again {
			addBitbucketError(&resp.Diagnostics, hooks.product(), "create a webhook", plan.where(), err)
			return
		}
		tflog.Warn(ctx, "Bitbucket failed a webhook create; listing again before another try", map[string]any{"where": plan.where(), "attempt": attempt + 1})
		select {
		case <-ctx.Done():
			addBitbucketError(&resp.Diagnostics, hooks.product(), "create a webhook", plan.where(), err)
			return
		case <-time.After(wait):
		}
	}
	plan.fromHook(hook)
	plan.installed(in)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *repositoryWebhookResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if requireClient(r.data, &resp.Diagnostics) == nil {
		return
	}
	var state repositoryWebhookModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in, err := r.integration(ctx, state.IntegrationID.ValueString())
	switch {
	case orbitapi.IsNotFound(err):
		// The hook may well still be in Bitbucket: keep reading it; the plan names
		// the missing integration.
		tflog.Warn(ctx, "integration "+state.IntegrationID.ValueString()+" of the webhook on "+state.where()+" is not in orbit-server")
		in = nil
	case err != nil:
		resp.Diagnostics.AddError("Could not read the integration", err.Error())
		return
	}
	providerType := state.ProviderType.ValueString()
	if in != nil {
		providerType = in.Provider
	}
	if providerType == "" {
		resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Integration not found",
			fmt.Sprintf("orbit-server has no integration %q that this API key may read, so the hook's product is unknown.", state.IntegrationID.ValueString()))
		return
	}
	hooks := r.hooks(providerType, in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, repo := state.Namespace.ValueString(), state.Repository.ValueString()
	hook, err := hooks.get(ctx, ns, repo, state.HookID.ValueString())
	if bitbucket.IsNotFound(err) {
		// A 404 for the hook means it is gone only if the repository is there to ask.
		repoErr := hooks.repository(ctx, ns, repo)
		if moved, ok := r.followRename(ctx, hooks, in, &state, repoErr); ok {
			// Bitbucket moved the hook with its renamed repository: the state names
			// where it is now, and the plan shows the change (see replaceUnlessMoved).
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, movedFromKey, moved)...)
			hook, err = hooks.get(ctx, state.Namespace.ValueString(), state.Repository.ValueString(), state.HookID.ValueString())
		} else if repoErr != nil {
			addBitbucketError(&resp.Diagnostics, hooks.product(), "read the repository of webhook "+state.HookID.ValueString(), state.where(), repoErr)
			return
		}
	}
	if bitbucket.IsNotFound(err) {
		tflog.Warn(ctx, "webhook "+state.HookID.ValueString()+" of "+state.where()+" no longer exists in Bitbucket; removing it from state so that the next plan creates it again")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addBitbucketError(&resp.Diagnostics, hooks.product(), "read webhook "+state.HookID.ValueString(), state.where(), err)
		return
	}
	state.fromHook(hook)
	state.ProviderType = types.StringValue(providerType)
	switch {
	case hook.secretSet != nil && !*hook.secretSet:
		state.SecretFingerprint = types.StringValue("") // removed outside Terraform
	case hook.secret != "":
		state.SecretFingerprint = types.StringValue(hook.secret.Fingerprint())
	case state.SecretFingerprint.IsNull() && in != nil:
		// Just imported: Bitbucket does not show the secret, so a hook that has one
		// is taken to have the integration's current secret.
		state.SecretFingerprint = types.StringValue(in.WebhookSecretFingerprint)
	}
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &state)...)
}

// movedFromKey is the private state of a hook whose repository Bitbucket renamed
// or moved: JSON {"namespace", "repository"}, the name it had before.
const movedFromKey = "moved_from"

type movedFrom struct {
	Namespace  string `json:"namespace"`
	Repository string `json:"repository"`
}

// followRename finds where Bitbucket moved the hook's repository when its name
// answers 404 (repoErr): orbit-server learnt the rename from the repository event and
// a binding of the integration names the new name with renamed_from the old one. On
// success it points state at the new name and returns the private state to keep.
func (r *repositoryWebhookResource) followRename(ctx context.Context, hooks repositoryHooks, in *orbitapi.Integration, state *repositoryWebhookModel, repoErr error) ([]byte, bool) {
	if in == nil || !bitbucket.IsNotFound(repoErr) {
		return nil, false
	}
	bindings, err := r.data.client.Integrations.Bindings(ctx, in.ID)
	if err != nil {
		tflog.Warn(ctx, "could not ask orbit-server whether "+state.where()+" was renamed: "+err.Error())
		return nil, false
	}
	ns, repo := state.Namespace.ValueString(), state.Repository.ValueString()
	for _, b := range bindings {
		if b.RenamedFrom == nil || !strings.EqualFold(b.RenamedFrom.Namespace, ns) || b.RenamedFrom.Repository != repo {
			continue
		}
		if hooks.repository(ctx, b.Namespace, b.Repository) != nil {
			continue
		}
		moved, err := json.Marshal(movedFrom{Namespace: ns, Repository: repo})
		if err != nil {
			return nil, false
		}
		tflog.Warn(ctx, fmt.Sprintf("Bitbucket renamed or moved %s/%s to %s/%s (reported to orbit-server); the webhook moved with it: edit the configuration to the new name", ns, repo, b.Namespace, b.Repository))
		state.Namespace, state.Repository = types.StringValue(b.Namespace), types.StringValue(b.Repository)
		return moved, true
	}
	return nil, false
}

// replaceUnlessMoved: a change of namespace or repository (attr) replaces the hook,
// except a change back to the name Bitbucket moved it from (a refresh followed a
// rename and the configuration still names the old repository): that is an in-place
// change, never a replacement that would delete the hook Bitbucket moved. The user
// resolves it by editing the configuration to the new name.
func replaceUnlessMoved(attr string) planmodifier.String {
	const desc = "Changing it replaces the hook, unless Bitbucket moved the hook there from the configured name (a repository rename)."
	return stringplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = true
		raw, diags := req.Private.GetKey(ctx, movedFromKey)
		resp.Diagnostics.Append(diags...)
		var from movedFrom
		if len(raw) == 0 || json.Unmarshal(raw, &from) != nil {
			return
		}
		was := from.Repository
		if attr == "namespace" {
			was = from.Namespace
		}
		if req.PlanValue.ValueString() == was {
			resp.RequiresReplace = false
		}
	}, desc, desc)
}

func (r *repositoryWebhookResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if requireClient(r.data, &resp.Diagnostics) == nil {
		return
	}
	var plan, state repositoryWebhookModel
	resp.Diagnostics.Append(getModel(req.Plan.Raw, &plan)...)
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in, err := r.integration(ctx, plan.IntegrationID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("integration_id"), "Could not read the integration", err.Error())
		return
	}
	spec := r.spec(ctx, &plan, in, &resp.Diagnostics)
	hooks := r.hooks(in.Provider, in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	hook, err := hooks.update(ctx, plan.Namespace.ValueString(), plan.Repository.ValueString(), state.HookID.ValueString(), spec)
	if err != nil {
		addBitbucketError(&resp.Diagnostics, hooks.product(), "update webhook "+state.HookID.ValueString(), plan.where(), err)
		return
	}
	plan.fromHook(hook)
	plan.installed(in)
	resp.Diagnostics.Append(setModel(&resp.State.Raw, &plan)...)
}

func (r *repositoryWebhookResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if requireClient(r.data, &resp.Diagnostics) == nil {
		return
	}
	var state repositoryWebhookModel
	resp.Diagnostics.Append(getModel(req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	in, err := r.integration(ctx, state.IntegrationID.ValueString())
	if err != nil && !orbitapi.IsNotFound(err) {
		resp.Diagnostics.AddError("Could not read the integration", err.Error())
		return
	}
	hooks := r.hooks(state.ProviderType.ValueString(), in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	err = hooks.delete(ctx, state.Namespace.ValueString(), state.Repository.ValueString(), state.HookID.ValueString())
	if err != nil && !bitbucket.IsNotFound(err) {
		addBitbucketError(&resp.Diagnostics, hooks.product(), "delete webhook "+state.HookID.ValueString(), state.where(), err)
	}
}

// ImportState takes integration_id/namespace/repository/hook_id.
func (r *repositoryWebhookResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) != 4 || slices.Contains(parts, "") {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Expected integration_id/namespace/repository/hook_id (for example 01J.../acme/infra/{0b9f...} or 01J.../PLAT/infra/12), got %q.", req.ID))
		return
	}
	for attr, value := range map[string]string{"integration_id": parts[0], "namespace": parts[1], "repository": parts[2], "hook_id": parts[3], "id": req.ID} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), value)...)
	}
}

func stringSet(values []string) types.Set {
	return labelsToSet(values)
}
