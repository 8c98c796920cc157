package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
)

// Pieces shared by orbit_space and the two integration resources.

func idAttribute(what string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Identifier of the " + what + ", assigned by orbit-server.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func descriptionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Free-text description, up to 4096 characters. Defaults to `\"\"`.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(""),
		Validators:          []validator.String{stringvalidator.UTF8LengthAtMost(rules.MaxDescriptionLen)},
	}
}

func labelsAttribute() schema.SetAttribute {
	return schema.SetAttribute{
		MarkdownDescription: "Labels. Each starts with a letter or digit and has at most 63 characters of letters, digits and `_ . : / -`.",
		ElementType:         types.StringType,
		Optional:            true,
		Computed:            true,
		Default:             setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{})),
		Validators:          labelsValidators(),
	}
}

// integrationPlacementAttributes are is_default, space_id, vcs_checks and webhook_url,
// identical for both integration resources.
func integrationPlacementAttributes(attrs map[string]schema.Attribute) {
	attrs["is_default"] = schema.BoolAttribute{
		MarkdownDescription: "Whether this is the default integration of its kind. A default integration lives in the `root` space; there is at most one per provider type. Exactly one of `is_default = true` and `space_id` must be set.",
		Optional:            true,
		Computed:            true,
		Default:             booldefault.StaticBool(false),
	}
	attrs["space_id"] = schema.StringAttribute{
		MarkdownDescription: "Space the integration belongs to. Must not be set when `is_default = true`; the state then shows `root`.",
		Optional:            true,
		Computed:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		PlanModifiers:       []planmodifier.String{rootSpaceWhenDefault{}},
	}
	attrs["vcs_checks"] = schema.StringAttribute{
		MarkdownDescription: "Which commit statuses orbit-server reports to Bitbucket: `individual` (one per stack), `aggregated` (one per run kind) or `all`. Defaults to `individual`.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(defaultVCSChecks),
		Validators:          vcsChecksValidators(),
	}
	attrs["webhook_secret_version"] = schema.Int64Attribute{
		MarkdownDescription: "Raise it to rotate the webhook secret in the same apply (orbit-server makes a new one; every `orbit_bitbucket_repository_webhook` of this integration then shows an update in the next plan, which installs the new secret). Setting it for the first time, or lowering it, records the value without rotating.",
		Optional:            true,
		Validators:          []validator.Int64{int64validator.AtLeast(0)},
	}
	attrs["check_credentials"] = schema.BoolAttribute{
		MarkdownDescription: "Whether orbit-server tries the credential against Bitbucket when the integration is created or changed (Cloud: `GET /2.0/user`; Data Center: a project list), and refuses it with a clear message when Bitbucket does. orbit-server itself must reach the Bitbucket host for that. Set `false` to create an integration for a host orbit-server cannot reach yet. Defaults to `true`. Not stored by orbit-server.",
		Optional:            true,
		Computed:            true,
		Default:             booldefault.StaticBool(true),
	}
	attrs["webhook_url"] = schema.StringAttribute{
		MarkdownDescription: "URL Bitbucket delivers webhooks to. It derives from the name, which is why renaming replaces the integration.",
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// rootSpaceWhenDefault plans space_id as "root" for a default integration, which is
// what the server answers, so that no diff appears after apply.
type rootSpaceWhenDefault struct{}

func (rootSpaceWhenDefault) Description(context.Context) string {
	return "a default integration lives in the root space"
}

func (m rootSpaceWhenDefault) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (rootSpaceWhenDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var isDefault types.Bool
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("is_default"), &isDefault)...)
	if isDefault.IsUnknown() || isDefault.IsNull() {
		return
	}
	if isDefault.ValueBool() {
		resp.PlanValue = types.StringValue(orbitapi.RootSpaceID)
	}
}

// integrationPlacementValidator: exactly one of is_default = true and space_id.
type integrationPlacementValidator struct{}

var _ resource.ConfigValidator = integrationPlacementValidator{}

func (integrationPlacementValidator) Description(context.Context) string {
	return "exactly one of is_default = true and space_id must be set"
}

func (v integrationPlacementValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (integrationPlacementValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var isDefault types.Bool
	var spaceID types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("is_default"), &isDefault)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("space_id"), &spaceID)...)
	// An unknown space_id (one that comes from another resource) is still set: with
	// is_default = true it must fail here, at plan, not at apply after other
	// resources were created.
	if resp.Diagnostics.HasError() || isDefault.IsUnknown() {
		return
	}
	switch {
	case isDefault.ValueBool() && !spaceID.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("space_id"), "Conflicting placement",
			"space_id must not be set when is_default = true: a default integration always lives in the root space. Remove space_id, or set is_default = false.")
	case !isDefault.ValueBool() && spaceID.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("space_id"), "Missing placement",
			"Set space_id to the space this integration belongs to, or set is_default = true to make it the default integration (it then lives in the root space).")
	}
}

func labelsFromSet(ctx context.Context, set types.Set, diags *diag.Diagnostics) []string {
	labels := []string{}
	if set.IsNull() || set.IsUnknown() {
		return labels
	}
	diags.Append(set.ElementsAs(ctx, &labels, false)...)
	return labels
}

func labelsToSet(labels []string) types.Set {
	values := make([]attr.Value, 0, len(labels))
	for _, label := range labels {
		values = append(values, types.StringValue(label))
	}
	return types.SetValueMust(types.StringType, values)
}

// stringOrNull maps the API's "" (unset) to null, for Optional attributes.
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// secretToSend decides which value, if any, of a credential goes into a request.
//   - plain: the Sensitive attribute as planned; prior: its value in state.
//   - writeOnly: the *_wo attribute from config (never in plan or state).
//   - version / priorVersion: *_wo_version as planned and in state.
//   - force: send whatever is configured (create, or switching credential form).
//
// A credential is sent only when it changed, so an unrelated update keeps the stored
// one (the API keeps a credential that is absent from the request).
func secretToSend(plain, prior, writeOnly types.String, version, priorVersion types.Int64, force bool) *string {
	if !plain.IsNull() && !plain.IsUnknown() {
		if force || !plain.Equal(prior) {
			v := plain.ValueString()
			return &v
		}
		return nil
	}
	if !writeOnly.IsNull() && !writeOnly.IsUnknown() {
		if force || !version.Equal(priorVersion) {
			v := writeOnly.ValueString()
			return &v
		}
	}
	return nil
}

// addAPIError turns an API error into a diagnostic, attached to the attribute the
// server named when it is one of ours.
func addAPIError(diags *diag.Diagnostics, summary string, err error, attributes map[string]schema.Attribute) {
	var apiErr *orbitapi.APIError
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		if _, ok := attributes[apiErr.Field]; ok {
			diags.AddAttributeError(path.Root(apiErr.Field), summary, apiErr.Error()+conflictAdvice(apiErr))
			return
		}
	}
	diags.AddError(summary, err.Error())
}

// conflictAdvice says what to do about a 409 on a name or on the default.
func conflictAdvice(apiErr *orbitapi.APIError) string {
	if apiErr.StatusCode != http.StatusConflict {
		return ""
	}
	switch {
	case apiErr.Field == "name" && apiErr.ExistingID != "":
		return fmt.Sprintf("\n\nIf that object is the one this resource describes (for example, created by an earlier apply whose answer was lost, or by hand), "+
			"import it instead of creating it: add an import block with id = %q and this resource's address as `to`, or run terraform import <address> %s.",
			apiErr.ExistingID, apiErr.ExistingID)
	case apiErr.Field == "name":
		return "\n\nAn object with this name exists, in a space this API key cannot read. Choose another name, or ask an admin of that space to import or delete it."
	case apiErr.Field == "is_default":
		return fmt.Sprintf("\n\nThere is one default integration per provider type. To move the default, set is_default = false on the current one in the same apply "+
			"(the provider waits up to %s for it to be released), or delete it first.", defaultSwapWait)
	}
	return ""
}

// defaultSwapWait bounds how long a write that makes an integration the default waits
// for the current default to be released.
const defaultSwapWait = time.Minute

// whileDefaultIsTaken runs call and, when it makes an integration the default and
// orbit-server answers 409 on is_default, tries again until defaultSwapWait has
// passed. Moving the default from A to B in one apply updates A and B in parallel, so
// B may ask before A has released the default; A's update needs no retry.
func whileDefaultIsTaken[T any](ctx context.Context, makesDefault bool, call func() (T, error)) (T, error) {
	deadline := time.Now().Add(defaultSwapWait)
	wait := 100 * time.Millisecond
	for {
		out, err := call()
		var apiErr *orbitapi.APIError
		if !makesDefault || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || apiErr.Field != "is_default" || time.Now().After(deadline) {
			return out, err
		}
		tflog.Debug(ctx, "the default integration is still taken; waiting for it to be released", map[string]any{"current_default": apiErr.ExistingID})
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func notFoundMessage(kind, id string) string {
	return fmt.Sprintf("%s %q no longer exists in orbit-server; removing it from state so that the next plan creates it again.", kind, id)
}

// addServerWarnings passes on warnings orbit-server attached to a write, except the
// app password one, which ValidateConfig already gave at plan time.
func addServerWarnings(diags *diag.Diagnostics, in *orbitapi.Integration) {
	if orbitapi.String(in.AuthMethod) == orbitapi.AuthMethodAppPassword {
		return
	}
	for _, warning := range in.Warnings {
		diags.AddWarning("orbit-server warning", warning)
	}
}

// integrationResourceFields are the attributes both integration resources have;
// each kind's model embeds them.
type integrationResourceFields struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	IsDefault   types.Bool   `tfsdk:"is_default"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
	Labels      types.Set    `tfsdk:"labels"`
	VCSChecks   types.String `tfsdk:"vcs_checks"`
	WebhookURL  types.String `tfsdk:"webhook_url"`
	// CheckCredentials is not stored by orbit-server: it says how to write.
	CheckCredentials types.Bool `tfsdk:"check_credentials"`
	// WebhookSecretVersion is configuration only: the API does not know it.
	WebhookSecretVersion types.Int64 `tfsdk:"webhook_secret_version"`
}

func (m *integrationResourceFields) integrationID() string { return m.ID.ValueString() }

// integrationSpaceID is the space the state puts the integration in ("" when unknown,
// as right after an import).
func (m *integrationResourceFields) integrationSpaceID() string {
	if m.SpaceID.IsNull() || m.SpaceID.IsUnknown() {
		return ""
	}
	return m.SpaceID.ValueString()
}

func (m *integrationResourceFields) secretVersion() types.Int64 { return m.WebhookSecretVersion }

func (m *integrationResourceFields) setSecretVersion(v types.Int64) { m.WebhookSecretVersion = v }

// rotationRequested: webhook_secret_version was raised from a value it already had.
func rotationRequested(planned, prior types.Int64) bool {
	if planned.IsNull() || planned.IsUnknown() || prior.IsNull() || prior.IsUnknown() {
		return false
	}
	return planned.ValueInt64() > prior.ValueInt64()
}

// request is the part of the API request built from the common attributes.
func (m *integrationResourceFields) request(ctx context.Context, provider string, diags *diag.Diagnostics) orbitapi.IntegrationRequest {
	in := orbitapi.IntegrationRequest{
		Provider:    provider,
		Name:        m.Name.ValueString(),
		IsDefault:   m.IsDefault.ValueBool(),
		Description: m.Description.ValueString(),
		Labels:      labelsFromSet(ctx, m.Labels, diags),
		VCSChecks:   m.VCSChecks.ValueString(),
		// Unknown or null counts as the default, true.
		SkipCredentialCheck: !m.CheckCredentials.IsNull() && !m.CheckCredentials.IsUnknown() && !m.CheckCredentials.ValueBool(),
	}
	if !in.IsDefault {
		in.SpaceID = m.SpaceID.ValueString()
	}
	return in
}

// fromAPI refreshes the common attributes.
func (m *integrationResourceFields) fromAPI(in *orbitapi.Integration) {
	m.ID = types.StringValue(in.ID)
	m.Name = types.StringValue(in.Name)
	m.IsDefault = types.BoolValue(in.IsDefault)
	m.SpaceID = types.StringValue(in.SpaceID)
	m.Description = types.StringValue(in.Description)
	m.Labels = labelsToSet(in.Labels)
	m.VCSChecks = types.StringValue(in.VCSChecks)
	m.WebhookURL = types.StringValue(in.WebhookURL)
	if m.CheckCredentials.IsNull() || m.CheckCredentials.IsUnknown() {
		// After an import: the default, so that the first plan shows no change.
		m.CheckCredentials = types.BoolValue(true)
	}
}

// integrationModel is what the shared CRUD needs from a kind's model M (P is *M).
type integrationModel[M any] interface {
	*M
	integrationID() string
	integrationSpaceID() string
	secretVersion() types.Int64
	setSecretVersion(types.Int64)
	// request builds the API request from the planned values, without credentials.
	request(ctx context.Context, diags *diag.Diagnostics) orbitapi.IntegrationRequest
	// addCredentials puts into in the credentials to send: every configured one on
	// create, only changed ones on update (prior is the state then).
	addCredentials(in *orbitapi.IntegrationRequest, prior, config *M, create bool)
	// fromAPI refreshes every attribute the API returns.
	fromAPI(in *orbitapi.Integration)
}

// integrationResource is the CRUD and import shared by the integration resources;
// each kind embeds it and adds its schema, validators and model.
type integrationResource[M any, P integrationModel[M]] struct {
	kind   integrationKind
	schema func() schema.Schema // to attach API errors to the attribute the server named
	data   *providerData
}

func (r *integrationResource[M, P]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *integrationResource[M, P]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, config M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := P(&plan).request(ctx, &resp.Diagnostics)
	var none M
	P(&plan).addCredentials(&in, &none, &config, true)
	if resp.Diagnostics.HasError() {
		return
	}
	created, err := whileDefaultIsTaken(ctx, in.IsDefault, func() (*orbitapi.Integration, error) {
		return client.Integrations.Create(ctx, in)
	})
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not create "+r.kind.displayName+" integration", err, r.schema().Attributes)
		return
	}
	r.data.integrations.put(created)
	P(&plan).fromAPI(created)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	addServerWarnings(&resp.Diagnostics, created)
}

func (r *integrationResource[M, P]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	id := P(&state).integrationID()
	// Through the shared cache: the webhooks of this integration read it too.
	current, err := r.data.integrations.get(ctx, id)
	if err != nil {
		r.data.handleReadError(ctx, resp, err, r.ref(P(&state)))
		return
	}
	if current.Provider != r.kind.apiProvider {
		resp.Diagnostics.AddError("Wrong integration type",
			"Integration "+current.ID+" is a "+current.Provider+" integration, not "+r.kind.apiProvider+"; import it as the matching resource type.")
		return
	}
	P(&state).fromAPI(current)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *integrationResource[M, P]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, state, config M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := P(&plan).request(ctx, &resp.Diagnostics)
	P(&plan).addCredentials(&in, &state, &config, false)
	if resp.Diagnostics.HasError() {
		return
	}
	updated, err := whileDefaultIsTaken(ctx, in.IsDefault, func() (*orbitapi.Integration, error) {
		return client.Integrations.Update(ctx, P(&state).integrationID(), in)
	})
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not update "+r.kind.displayName+" integration", err, r.schema().Attributes)
		return
	}
	if rotationRequested(P(&plan).secretVersion(), P(&state).secretVersion()) {
		rotated, err := client.Integrations.RotateSecret(ctx, updated.ID)
		if err != nil {
			// The update itself went through: keep it in state, at the old version,
			// so the next apply tries the rotation again.
			r.data.integrations.put(updated)
			P(&plan).fromAPI(updated)
			P(&plan).setSecretVersion(P(&state).secretVersion())
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			resp.Diagnostics.AddAttributeError(path.Root("webhook_secret_version"), "Could not rotate the webhook secret", err.Error())
			return
		}
		tflog.Info(ctx, "rotated the webhook secret of integration "+updated.ID)
		updated = rotated
	}
	r.data.integrations.put(updated)
	P(&plan).fromAPI(updated)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	addServerWarnings(&resp.Diagnostics, updated)
}

func (r *integrationResource[M, P]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	if err := client.Integrations.Delete(ctx, P(&state).integrationID()); err != nil {
		r.data.handleDeleteError(ctx, resp, err, r.ref(P(&state)), "")
		if resp.Diagnostics.HasError() {
			return
		}
	}
	r.data.integrations.forget(P(&state).integrationID())
}

func (r *integrationResource[M, P]) ref(m P) objectRef {
	return objectRef{Kind: r.kind.displayName + " integration", ID: m.integrationID(), SpaceID: m.integrationSpaceID()}
}

func (r *integrationResource[M, P]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
