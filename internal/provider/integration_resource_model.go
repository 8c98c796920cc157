package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// The model both integration resources share, and what the shared CRUD needs from
// each kind's model.

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
