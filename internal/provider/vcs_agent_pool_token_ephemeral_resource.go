package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
)

var (
	_ ephemeral.EphemeralResource              = (*vcsAgentPoolTokenEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*vcsAgentPoolTokenEphemeralResource)(nil)
)

// defaultPoolTokenLifetime is expires_in when the configuration does not set it: a
// token issued by a plan that is never applied stops working on its own.
const defaultPoolTokenLifetime = 30 * 24 * time.Hour

// maxPoolTokenLifetime is the server's bound on expires_in_seconds.
const maxPoolTokenLifetime = 10 * 365 * 24 * time.Hour

// NewVCSAgentPoolTokenEphemeralResource issues a pool token for the duration of one
// Terraform run, without writing it to state or plan files (Terraform >= 1.10).
func NewVCSAgentPoolTokenEphemeralResource() ephemeral.EphemeralResource {
	return &vcsAgentPoolTokenEphemeralResource{}
}

type vcsAgentPoolTokenEphemeralResource struct {
	providerData *providerData
}

type vcsAgentPoolTokenModel struct {
	PoolID      types.String `tfsdk:"pool_id"`
	Description types.String `tfsdk:"description"`
	ExpiresIn   types.String `tfsdk:"expires_in"`
	TokenID     types.String `tfsdk:"token_id"`
	Token       types.String `tfsdk:"token"`
	ExpiresAt   types.String `tfsdk:"expires_at"`
}

func (e *vcsAgentPoolTokenEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vcs_agent_pool_token"
}

func (e *vcsAgentPoolTokenEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues a new token of a VCS agent pool, the secret `orbit-vcs-agent` presents to connect, for the duration of one " +
			"Terraform run; nothing is written to state or plan files. Hand it to the agent's deployment through a write-only attribute " +
			"(for example a Kubernetes secret's `data_wo`). Terraform opens ephemeral resources on every plan and apply, so every run " +
			"issues a token: tokens that no agent received expire after `expires_in`.",
		Attributes: map[string]schema.Attribute{
			"pool_id": schema.StringAttribute{
				MarkdownDescription: "Id of the pool (`orbit_vcs_agent_pool.<name>.id`). Issuing needs the `admin` role on the pool's space.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Description of the token, shown when listing the pool's tokens. Defaults to `\"issued by Terraform\"`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.UTF8LengthAtMost(rules.MaxDescriptionLen)},
			},
			"expires_in": schema.StringAttribute{
				MarkdownDescription: "How long the token works, as a Go duration (`720h`, `90m`). Defaults to `720h` (30 days); `0s` makes a token that works until revoked. " +
					"At most ten years.",
				Optional:   true,
				Validators: []validator.String{durationValidator{max: maxPoolTokenLifetime}},
			},
			"token_id": schema.StringAttribute{
				MarkdownDescription: "Id of the token, to revoke or rotate it through the API.",
				Computed:            true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The token (`orbitpool_...`). orbit-server keeps only its hash: this is the one time it can be read.",
				Computed:            true,
				Sensitive:           true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token stops working (RFC 3339, UTC); empty for a token that works until revoked.",
				Computed:            true,
			},
		},
	}
}

func (e *vcsAgentPoolTokenEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (e *vcsAgentPoolTokenEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var data vcsAgentPoolTokenModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	client := requireClient(e.providerData, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	lifetime := defaultPoolTokenLifetime
	if !data.ExpiresIn.IsNull() {
		parsed, err := time.ParseDuration(data.ExpiresIn.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("expires_in"), "Invalid duration", err.Error())
			return
		}
		lifetime = parsed
	}
	description := "issued by Terraform"
	if !data.Description.IsNull() {
		description = data.Description.ValueString()
	}
	issued, err := client.VCSAgentPools.IssueToken(ctx, data.PoolID.ValueString(), orbitapi.VCSAgentPoolTokenRequest{
		Description: description, ExpiresInSeconds: int64(lifetime / time.Second),
	})
	if err != nil {
		if orbitapi.IsNotFound(err) {
			resp.Diagnostics.AddAttributeError(path.Root("pool_id"), "VCS agent pool not found",
				fmt.Sprintf("No VCS agent pool with id %q exists, or the API key has no read role on its space.", data.PoolID.ValueString()))
			return
		}
		resp.Diagnostics.AddError("Could not issue a VCS agent pool token", err.Error())
		return
	}
	data.TokenID = types.StringValue(issued.ID)
	data.Token = types.StringValue(issued.Token)
	data.ExpiresAt = types.StringValue("")
	if issued.ExpiresAt != nil {
		data.ExpiresAt = types.StringValue(issued.ExpiresAt.UTC().Format(time.RFC3339))
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &data)...)
}

// durationValidator accepts a Go duration from 0 to max.
type durationValidator struct{ max time.Duration }

func (v durationValidator) Description(context.Context) string {
	return fmt.Sprintf("must be a duration such as 720h or 90m, from 0s to %s", v.max)
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d < 0 || d > v.max || d%time.Second != 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration", v.Description(ctx)+", in whole seconds")
	}
}
