// Package provider implements the Terraform provider "orbit" with
// terraform-plugin-framework: one file per Terraform type.
package provider

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitenv"
)

// Environment variables the provider block falls back to.
const (
	envEndpoint               = orbitenv.Endpoint
	envAPIKey                 = orbitenv.APIKey
	envBitbucketCloudAPIURL   = orbitenv.BitbucketCloudAPIURL
	envBitbucketCloudEmail    = orbitenv.BitbucketCloudEmail
	envBitbucketCloudAPIToken = orbitenv.BitbucketCloudAPIToken
	envBitbucketDCAPIURL      = orbitenv.BitbucketDCAPIURL
	envBitbucketDCToken       = orbitenv.BitbucketDCToken

	defaultBitbucketCloudAPIURL = orbitenv.DefaultBitbucketCloudAPIURL

	// configureProbeTimeout bounds the reachability check done at configure time,
	// retries included.
	configureProbeTimeout = 30 * time.Second
)

var (
	_ provider.Provider                       = (*orbitProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*orbitProvider)(nil)
)

// New returns a constructor of the provider for providerserver; version ends up in
// the user agent.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &orbitProvider{version: version} }
}

type orbitProvider struct {
	version string
}

type providerModel struct {
	Endpoint            types.String              `tfsdk:"endpoint"`
	APIKey              types.String              `tfsdk:"api_key"`
	BitbucketCloud      *bitbucketCloudModel      `tfsdk:"bitbucket_cloud"`
	BitbucketDataCenter *bitbucketDataCenterModel `tfsdk:"bitbucket_datacenter"`
}

type bitbucketCloudModel struct {
	APIURL   types.String `tfsdk:"api_url"`
	Email    types.String `tfsdk:"email"`
	APIToken types.String `tfsdk:"api_token"`
}

type bitbucketDataCenterModel struct {
	APIURL types.String `tfsdk:"api_url"`
	Token  types.String `tfsdk:"token"`
}

// providerData is what Configure hands to resources, data sources and ephemeral
// resources (see providerDataFrom).
type providerData struct {
	client *orbitapi.Client
	// access is the key's roles, to tell a deleted object from an invisible one
	// (read_semantics.go).
	access *access
	// Repository-admin credentials, used only to manage repository webhooks in
	// Bitbucket; empty fields were not configured.
	bitbucketCloud      BitbucketCloudCredentials
	bitbucketDataCenter BitbucketDataCenterCredentials
	// bitbucket builds the Bitbucket clients on first use and keeps them.
	bitbucket *bitbucketClients
	// integrations shares integration reads among the resources of one provider
	// process (one Terraform command).
	integrations *integrationCache
}

// BitbucketCloudCredentials come from the provider's bitbucket_cloud block or the
// environment.
type BitbucketCloudCredentials struct {
	APIURL   string
	Email    string
	APIToken string
}

// BitbucketDataCenterCredentials come from the provider's bitbucket_datacenter block
// or the environment.
type BitbucketDataCenterCredentials struct {
	APIURL string
	Token  string
}

func (p *orbitProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "orbit"
	resp.Version = p.version
}

func (p *orbitProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages [Orbit](https://github.com/orbit-iac/terraform-provider-orbit) spaces, stacks and Bitbucket integrations through the orbit-server API.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Root URL of orbit-server, for example `https://orbit.example.com`. Defaults to the `" + envEndpoint + "` environment variable.",
				Optional:            true,
				Validators:          []validator.String{endpointValidator()},
			},
			"api_key": schema.StringAttribute{
				MarkdownDescription: "Orbit API key (`orbit_...`). Defaults to the `" + envAPIKey + "` environment variable.",
				Optional:            true,
				Sensitive:           true,
			},
		},
		Blocks: map[string]schema.Block{
			"bitbucket_cloud": schema.SingleNestedBlock{
				MarkdownDescription: "Repository-admin credentials for Bitbucket Cloud, used only to manage repository webhooks.",
				Attributes: map[string]schema.Attribute{
					"api_url": schema.StringAttribute{
						MarkdownDescription: "Bitbucket Cloud API base URL. Defaults to the `" + envBitbucketCloudAPIURL + "` environment variable, else `" + defaultBitbucketCloudAPIURL + "`.",
						Optional:            true,
						Validators:          []validator.String{endpointValidator()},
					},
					"email": schema.StringAttribute{
						MarkdownDescription: "Atlassian account email that owns the API token. Defaults to the `" + envBitbucketCloudEmail + "` environment variable.",
						Optional:            true,
						Validators:          emailValidators(),
					},
					"api_token": schema.StringAttribute{
						MarkdownDescription: "Atlassian API token with the webhook scopes (`read:webhook:bitbucket`, `write:webhook:bitbucket`, and `delete:webhook:bitbucket` to remove a hook) and `read:repository:bitbucket`, or admin on the repositories. Defaults to the `" + envBitbucketCloudAPIToken + "` environment variable.",
						Optional:            true,
						Sensitive:           true,
					},
				},
			},
			"bitbucket_datacenter": schema.SingleNestedBlock{
				MarkdownDescription: "Repository-admin credentials for Bitbucket Data Center, used only to manage repository webhooks.",
				Attributes: map[string]schema.Attribute{
					"api_url": schema.StringAttribute{
						MarkdownDescription: "Base URL of the Bitbucket Data Center server, for example `https://bitbucket.example.com`. Defaults to the `" + envBitbucketDCAPIURL + "` environment variable, else to the `api_host` of the integration a webhook uses; required when that is `private://…`.",
						Optional:            true,
						Validators:          []validator.String{endpointValidator()},
					},
					"token": schema.StringAttribute{
						MarkdownDescription: "HTTP access token with REPO_ADMIN on the repositories (a personal, project or repository token). Defaults to the `" + envBitbucketDCToken + "` environment variable.",
						Optional:            true,
						Sensitive:           true,
					},
				},
			},
		},
	}
}

func (p *orbitProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// A value that depends on another resource is unknown while planning; the
	// provider is then configured during apply, when it is known.
	if config.Endpoint.IsUnknown() || config.APIKey.IsUnknown() {
		tflog.Debug(ctx, "orbit provider endpoint or api_key unknown until apply; not configuring a client yet")
		return
	}

	endpoint := stringOrEnv(config.Endpoint, envEndpoint)
	apiKey := stringOrEnv(config.APIKey, envAPIKey)
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing Orbit endpoint",
			"Set endpoint in the orbit provider block, or the "+envEndpoint+" environment variable, to the root URL of orbit-server (for example https://orbit.example.com).")
	}
	if apiKey == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Missing Orbit API key",
			"Set api_key in the orbit provider block, or the "+envAPIKey+" environment variable, to an Orbit API key.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	hc := newHTTPClient()
	client, err := orbitapi.NewClient(endpoint, apiKey, orbitapi.WithVersion(p.version), orbitapi.WithHTTPClient(hc))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid Orbit endpoint",
			fmt.Sprintf("%s. Check endpoint in the orbit provider block or the %s environment variable.", err, envEndpoint))
		return
	}
	// The probe gives up sooner than the client does for real work: a wrong
	// endpoint should fail fast, while a brief blip still gets a second chance.
	probeClient, err := orbitapi.NewClient(endpoint, apiKey, orbitapi.WithVersion(p.version), orbitapi.WithHTTPClient(hc),
		orbitapi.WithRetry(2, 250*time.Millisecond, time.Second))
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid Orbit endpoint", err.Error())
		return
	}
	who, d := probe(ctx, probeClient)
	if d != nil {
		resp.Diagnostics.Append(d)
		return
	}

	data := &providerData{client: client, access: &access{client: client, whoami: who}, integrations: newIntegrationCache(client), bitbucket: &bitbucketClients{version: p.version, http: hc}}
	data.bitbucketCloud.APIURL = defaultBitbucketCloudAPIURL
	setIfKnown(&data.bitbucketCloud.APIURL, types.StringValue(os.Getenv(envBitbucketCloudAPIURL)))
	data.bitbucketCloud.Email = os.Getenv(envBitbucketCloudEmail)
	data.bitbucketCloud.APIToken = os.Getenv(envBitbucketCloudAPIToken)
	if bc := config.BitbucketCloud; bc != nil {
		setIfKnown(&data.bitbucketCloud.APIURL, bc.APIURL)
		setIfKnown(&data.bitbucketCloud.Email, bc.Email)
		setIfKnown(&data.bitbucketCloud.APIToken, bc.APIToken)
	}
	data.bitbucketDataCenter.APIURL = os.Getenv(envBitbucketDCAPIURL)
	data.bitbucketDataCenter.Token = os.Getenv(envBitbucketDCToken)
	if dc := config.BitbucketDataCenter; dc != nil {
		setIfKnown(&data.bitbucketDataCenter.APIURL, dc.APIURL)
		setIfKnown(&data.bitbucketDataCenter.Token, dc.Token)
	}

	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
}

// probe calls GET /api/v1/whoami once, so that a wrong endpoint or key fails once,
// here, with advice, instead of once per resource; an endpoint that is not orbit-server
// fails here before any Read could mistake its 404s for deleted objects.
func probe(ctx context.Context, client *orbitapi.Client) (*orbitapi.Whoami, diag.Diagnostic) {
	ctx, cancel := context.WithTimeout(ctx, configureProbeTimeout)
	defer cancel()
	who, err := client.Whoami(ctx)
	if err != nil {
		return nil, whoamiDiagnostic(client, err)
	}
	return who, nil
}

func attributeError(attribute, summary, detail string) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root(attribute), summary, detail)
}

func stringOrEnv(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func setIfKnown(dst *string, v types.String) {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		*dst = v.ValueString()
	}
}

func (p *orbitProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewSpaceResource,
		NewBitbucketCloudIntegrationResource,
		NewBitbucketDataCenterIntegrationResource,
		NewStackResource,
		NewStackVCSBindingResource,
		NewRepositoryWebhookResource,
		NewVCSAgentPoolResource,
	}
}

func (p *orbitProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewBitbucketCloudIntegrationDataSource,
		NewBitbucketDataCenterIntegrationDataSource,
		NewIntegrationWebhookDataSource,
		NewStackDataSource,
		NewRepositoriesDataSource,
		NewVCSAgentPoolDataSource,
	}
}

func (p *orbitProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewIntegrationWebhookEphemeralResource,
		NewVCSAgentPoolTokenEphemeralResource,
	}
}

// providerDataFrom turns the ProviderData handed to a Configure method into
// *providerData. It returns nil without a diagnostic while the provider is not
// configured yet (validation, or an endpoint unknown until apply).
func providerDataFrom(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	pd, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the orbit provider.", data))
		return nil
	}
	return pd
}

// requireClient reports an error when an operation needs the API but the provider
// was not configured (its endpoint or api_key was unknown).
func requireClient(pd *providerData, diags *diag.Diagnostics) *orbitapi.Client {
	if pd == nil || pd.client == nil {
		diags.AddError("Orbit provider not configured",
			"The orbit provider has no endpoint and api_key yet (they may depend on values known only after apply). Set them to known values, or through "+envEndpoint+" and "+envAPIKey+".")
		return nil
	}
	return pd.client
}
