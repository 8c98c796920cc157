package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ ephemeral.EphemeralResource              = (*integrationWebhookEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*integrationWebhookEphemeralResource)(nil)
)

// NewIntegrationWebhookEphemeralResource returns an integration's webhook URL, secret
// and required events without writing them to state or plan files (Terraform >= 1.10).
func NewIntegrationWebhookEphemeralResource() ephemeral.EphemeralResource {
	return &integrationWebhookEphemeralResource{}
}

type integrationWebhookEphemeralResource struct {
	providerData *providerData
}

func (e *integrationWebhookEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_integration_webhook"
}

func (e *integrationWebhookEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Returns the webhook settings of an integration (URL, signing secret, events to subscribe to) " +
			"for the duration of one Terraform run; nothing is written to state or plan files. Use it to feed the secret " +
			"into write-only attributes or provider configuration.",
		Attributes: map[string]schema.Attribute{
			"integration_id": schema.StringAttribute{
				MarkdownDescription: integrationWebhookIDDescription,
				Required:            true,
				Validators:          integrationIDValidators(),
			},
			"webhook_url": schema.StringAttribute{
				MarkdownDescription: webhookURLDescription,
				Computed:            true,
			},
			"webhook_secret": schema.StringAttribute{
				MarkdownDescription: webhookSecretDescription,
				Computed:            true,
				Sensitive:           true,
			},
			"required_events": schema.ListAttribute{
				MarkdownDescription: requiredEventsDescription,
				ElementType:         types.StringType,
				Computed:            true,
			},
			"provider_type": schema.StringAttribute{
				MarkdownDescription: providerTypeDescription,
				Computed:            true,
			},
		},
	}
}

func (e *integrationWebhookEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (e *integrationWebhookEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	data, ok := integrationWebhookFromConfig(ctx, req.Config, e.providerData, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &data)...)
}
