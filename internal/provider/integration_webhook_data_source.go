package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

var (
	_ datasource.DataSource              = (*integrationWebhookDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*integrationWebhookDataSource)(nil)
)

// NewIntegrationWebhookDataSource reads what a Bitbucket repository webhook needs to
// reach an integration: URL, signing secret and the events to subscribe to. The
// ephemeral resource of the same name returns the same values without storing them.
func NewIntegrationWebhookDataSource() datasource.DataSource {
	return &integrationWebhookDataSource{}
}

type integrationWebhookDataSource struct {
	providerData *providerData
}

// integrationWebhookModel is shared by the data source and the ephemeral resource.
// "provider" is a reserved root attribute name in Terraform, hence provider_type.
type integrationWebhookModel struct {
	IntegrationID  types.String `tfsdk:"integration_id"`
	WebhookURL     types.String `tfsdk:"webhook_url"`
	WebhookSecret  types.String `tfsdk:"webhook_secret"`
	RequiredEvents types.List   `tfsdk:"required_events"`
	ProviderType   types.String `tfsdk:"provider_type"`
}

const (
	integrationWebhookIDDescription = "Id of the Bitbucket Cloud or Data Center integration."
	webhookURLDescription           = "URL the repository webhook must post to."
	webhookSecretDescription        = "Secret the repository webhook signs deliveries with (`X-Hub-Signature: sha256=...`). " +
		"Reading it needs the `admin` role on the integration's space (`root` for a default integration)."
	requiredEventsDescription = "Events (Bitbucket trigger keys) the repository webhook must subscribe to, " +
		"e.g. `repo:push` for Bitbucket Cloud or `repo:refs_changed` for Data Center."
	providerTypeDescription = "Integration provider: `bitbucket_cloud` or `bitbucket_datacenter`."
)

func integrationIDValidators() []validator.String {
	return []validator.String{stringvalidator.LengthAtLeast(1)}
}

func (d *integrationWebhookDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_integration_webhook"
}

func (d *integrationWebhookDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the webhook settings of an integration: the URL a Bitbucket repository webhook posts to, " +
			"its signing secret and the events it must subscribe to. The secret is stored in state (marked sensitive); " +
			"the `orbit_integration_webhook` ephemeral resource returns the same values without storing them.",
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

func (d *integrationWebhookDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *integrationWebhookDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	data, ok := integrationWebhookFromConfig(ctx, req.Config, d.providerData, &resp.Diagnostics)
	if !ok {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// integrationWebhookFromConfig reads the configured integration_id and fills in the
// webhook from orbit-server; ok is false when diags already hold the error.
func integrationWebhookFromConfig(ctx context.Context, config tfsdk.Config, pd *providerData, diags *diag.Diagnostics) (data integrationWebhookModel, ok bool) {
	diags.Append(config.Get(ctx, &data)...)
	if diags.HasError() {
		return data, false
	}
	client := requireClient(pd, diags)
	if client == nil {
		return data, false
	}
	diags.Append(readIntegrationWebhook(ctx, client, &data)...)
	return data, !diags.HasError()
}

// readIntegrationWebhook fills data from GET /integrations/{id}/webhook. Errors name
// integration_id; none of them carries the secret.
func readIntegrationWebhook(ctx context.Context, client *orbitapi.Client, data *integrationWebhookModel) diag.Diagnostics {
	var diags diag.Diagnostics
	id := data.IntegrationID.ValueString()

	webhook, err := client.Integrations.Webhook(ctx, id)
	switch {
	case orbitapi.IsNotFound(err):
		diags.AddAttributeError(path.Root("integration_id"), "Integration not found",
			fmt.Sprintf("No integration with id %q exists, or the API key has no read role on its space.", id))
		return diags
	case orbitapi.IsPermissionDenied(err):
		diags.AddAttributeError(path.Root("integration_id"), "Not allowed to read the webhook secret",
			fmt.Sprintf("Reading the webhook of integration %q needs the admin role on its space (root for a default integration); "+
				"the API key configured for the provider does not have it.", id))
		return diags
	case err != nil:
		diags.AddError("Unable to read integration webhook", err.Error())
		return diags
	}

	events := webhook.RequiredEvents
	if events == nil {
		events = []string{}
	}
	eventsValue, listDiags := types.ListValueFrom(ctx, types.StringType, events)
	diags.Append(listDiags...)
	if diags.HasError() {
		return diags
	}

	data.WebhookURL = types.StringValue(webhook.WebhookURL)
	data.WebhookSecret = types.StringValue(webhook.WebhookSecret)
	data.RequiredEvents = eventsValue
	data.ProviderType = types.StringValue(webhook.Provider)
	return diags
}
