package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/boolvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// This file holds what the two integration data sources
// (orbit_bitbucket_cloud_integration, orbit_bitbucket_datacenter_integration) share:
// the three selectors and the lookup behind them.

// integrationKind names one integration provider in the API and in messages.
type integrationKind struct {
	apiProvider    string // orbitapi.ProviderBitbucketCloud / ...DataCenter
	displayName    string // "Bitbucket Cloud"
	dataSourceType string // the Terraform type that reads this kind
}

var (
	bitbucketCloudKind = integrationKind{
		apiProvider:    orbitapi.ProviderBitbucketCloud,
		displayName:    "Bitbucket Cloud",
		dataSourceType: "orbit_bitbucket_cloud_integration",
	}
	bitbucketDataCenterKind = integrationKind{
		apiProvider:    orbitapi.ProviderBitbucketDataCenter,
		displayName:    "Bitbucket Data Center",
		dataSourceType: "orbit_bitbucket_datacenter_integration",
	}
)

func kindOfProvider(apiProvider string) (integrationKind, bool) {
	switch apiProvider {
	case orbitapi.ProviderBitbucketCloud:
		return bitbucketCloudKind, true
	case orbitapi.ProviderBitbucketDataCenter:
		return bitbucketDataCenterKind, true
	}
	return integrationKind{}, false
}

// integrationSelectorAttributes are id, name and default: exactly one is set in
// configuration (see integrationSelectorValidators); id and name are also filled in
// from the integration that was found.
func integrationSelectorAttributes(kind integrationKind) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("Id of the %s integration to read. Exactly one of `id`, `name` or `default` must be set.", kind.displayName),
			Optional:            true,
			Computed:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"name": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("Name of the %s integration to read (names are unique per provider type). Exactly one of `id`, `name` or `default` must be set.", kind.displayName),
			Optional:            true,
			Computed:            true,
			Validators:          integrationNameValidators(),
		},
		"default": schema.BoolAttribute{
			MarkdownDescription: fmt.Sprintf("Set to `true` to read the default %s integration (the one with `is_default = true`). Exactly one of `id`, `name` or `default` must be set.", kind.displayName),
			Optional:            true,
			Validators:          []validator.Bool{boolvalidator.Equals(true)},
		},
	}
}

// integrationCommonAttributes are the computed attributes both integration kinds have.
func integrationCommonAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"is_default": schema.BoolAttribute{
			MarkdownDescription: "Whether this is the default integration of its provider type.",
			Computed:            true,
		},
		"space_id": schema.StringAttribute{
			MarkdownDescription: "Space the integration belongs to (`root` for a default integration).",
			Computed:            true,
		},
		"description": schema.StringAttribute{
			MarkdownDescription: "Free-text description; empty when unset.",
			Computed:            true,
		},
		"labels": schema.SetAttribute{
			MarkdownDescription: "Labels of the integration.",
			ElementType:         types.StringType,
			Computed:            true,
		},
		"vcs_checks": schema.StringAttribute{
			MarkdownDescription: "How commit statuses are reported: `individual`, `aggregated` or `all`.",
			Computed:            true,
		},
		"webhook_url": schema.StringAttribute{
			MarkdownDescription: "URL Bitbucket repository webhooks of this integration are sent to.",
			Computed:            true,
		},
		"previous_webhook_secret_expires_at": schema.StringAttribute{
			MarkdownDescription: "When the webhook secret replaced by the last rotation stops verifying deliveries (RFC 3339, UTC): the rotation plus orbit-server's `--webhook-secret-grace` (default 24h). " +
				"Until then a hook not yet re-keyed still delivers; a time in the past means only the current secret verifies. Null when the secret was never rotated.",
			Computed: true,
		},
		"recent_deliveries": recentDeliveriesAttribute(),
	}
}

func mergeDataSourceAttributes(sets ...map[string]schema.Attribute) map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for _, set := range sets {
		for name, attr := range set {
			out[name] = attr
		}
	}
	return out
}

// integrationSelectorValidators make "exactly one selector" a plan-time error.
func integrationSelectorValidators() []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(
			path.MatchRoot("id"),
			path.MatchRoot("name"),
			path.MatchRoot("default"),
		),
	}
}

// integrationSelector is the configured selector of an integration data source.
type integrationSelector struct {
	ID      types.String
	Name    types.String
	Default types.Bool
}

// findIntegration resolves the selector to exactly one integration of the given kind.
// A miss is an error on the selector attribute; a 404 and "no read role on the space"
// look the same, since the API does not reveal which it was.
func findIntegration(ctx context.Context, client *orbitapi.Client, kind integrationKind, sel integrationSelector) (*orbitapi.Integration, diag.Diagnostics) {
	var diags diag.Diagnostics
	readFailed := fmt.Sprintf("Unable to read %s integration", kind.displayName)

	switch {
	case !sel.ID.IsNull():
		id := sel.ID.ValueString()
		integration, err := client.Integrations.Get(ctx, id)
		if orbitapi.IsNotFound(err) {
			diags.AddAttributeError(path.Root("id"), fmt.Sprintf("%s integration not found", kind.displayName),
				fmt.Sprintf("No %s integration with id %q exists, or the API key has no read role on its space.", kind.displayName, id))
			return nil, diags
		}
		if err != nil {
			diags.AddError(readFailed, err.Error())
			return nil, diags
		}
		if integration.Provider != kind.apiProvider {
			detail := fmt.Sprintf("Integration %q is not a %s integration (its provider is %q).", id, kind.displayName, integration.Provider)
			if other, ok := kindOfProvider(integration.Provider); ok {
				detail += fmt.Sprintf(" Read it with the %s data source.", other.dataSourceType)
			}
			diags.AddAttributeError(path.Root("id"), fmt.Sprintf("%s integration not found", kind.displayName), detail)
			return nil, diags
		}
		return integration, diags

	case !sel.Name.IsNull():
		name := sel.Name.ValueString()
		matches, err := client.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{
			ListOptions: orbitapi.ListOptions{Name: name},
			Provider:    kind.apiProvider,
		})
		if err != nil {
			diags.AddError(readFailed, err.Error())
			return nil, diags
		}
		// The name filter is exact, but compare again rather than trust a filter
		// an older server might ignore.
		var found []orbitapi.Integration
		for _, integration := range matches {
			if integration.Name == name && integration.Provider == kind.apiProvider {
				found = append(found, integration)
			}
		}
		switch len(found) {
		case 0:
			diags.AddAttributeError(path.Root("name"), fmt.Sprintf("%s integration not found", kind.displayName),
				fmt.Sprintf("No %s integration named %q exists, or the API key has no read role on its space.", kind.displayName, name))
			return nil, diags
		case 1:
			return &found[0], diags
		default:
			diags.AddAttributeError(path.Root("name"), fmt.Sprintf("More than one %s integration found", kind.displayName),
				fmt.Sprintf("%d %s integrations are named %q; select one by id instead.", len(found), kind.displayName, name))
			return nil, diags
		}

	case sel.Default.ValueBool():
		all, err := client.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{Provider: kind.apiProvider})
		if err != nil {
			diags.AddError(readFailed, err.Error())
			return nil, diags
		}
		for i := range all {
			if all[i].IsDefault && all[i].Provider == kind.apiProvider {
				return &all[i], diags
			}
		}
		diags.AddAttributeError(path.Root("default"), fmt.Sprintf("No default %s integration", kind.displayName),
			fmt.Sprintf("No %s integration has is_default = true, or the API key has no read role on the root space.", kind.displayName))
		return nil, diags
	}

	// The config validator rejects this before Read; guard anyway.
	diags.AddError("No integration selector", "Set exactly one of id, name or default.")
	return nil, diags
}

// integrationDataSourceFields are the selector and the computed attributes both
// integration data sources have; each kind's model embeds them.
type integrationDataSourceFields struct {
	ID      types.String `tfsdk:"id"`
	Name    types.String `tfsdk:"name"`
	Default types.Bool   `tfsdk:"default"`

	IsDefault   types.Bool   `tfsdk:"is_default"`
	SpaceID     types.String `tfsdk:"space_id"`
	Description types.String `tfsdk:"description"`
	Labels      types.Set    `tfsdk:"labels"`
	VCSChecks   types.String `tfsdk:"vcs_checks"`
	WebhookURL  types.String `tfsdk:"webhook_url"`

	PreviousWebhookSecretExpiresAt types.String `tfsdk:"previous_webhook_secret_expires_at"`

	RecentDeliveries types.Object `tfsdk:"recent_deliveries"`
}

// integrationDataSourceModel is what the shared Read needs from a kind's model M
// (P is *M).
type integrationDataSourceModel[M any] interface {
	*M
	fields() *integrationDataSourceFields
	// kindFromAPI sets the attributes only this kind has.
	kindFromAPI(in *orbitapi.Integration)
}

// integrationDataSource is the Configure, ConfigValidators and Read shared by the
// integration data sources; each kind embeds it and adds its metadata and schema.
type integrationDataSource[M any, P integrationDataSourceModel[M]] struct {
	kind         integrationKind
	providerData *providerData
}

func (d *integrationDataSource[M, P]) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return integrationSelectorValidators()
}

func (d *integrationDataSource[M, P]) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.providerData = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *integrationDataSource[M, P]) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data M
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client := requireClient(d.providerData, &resp.Diagnostics)
	if client == nil {
		return
	}

	common := P(&data).fields()
	integration, diags := findIntegration(ctx, client, d.kind,
		integrationSelector{ID: common.ID, Name: common.Name, Default: common.Default})
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	labels, diags := integrationLabelsValue(ctx, integration.Labels)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	common.ID = types.StringValue(integration.ID)
	common.Name = types.StringValue(integration.Name)
	common.IsDefault = types.BoolValue(integration.IsDefault)
	common.SpaceID = types.StringValue(integration.SpaceID)
	common.Description = types.StringValue(integration.Description)
	common.Labels = labels
	common.VCSChecks = types.StringValue(integration.VCSChecks)
	common.WebhookURL = types.StringValue(integration.WebhookURL)
	common.PreviousWebhookSecretExpiresAt = types.StringNull()
	if at := integration.PreviousWebhookSecretExpiresAt; at != nil {
		common.PreviousWebhookSecretExpiresAt = types.StringValue(at.UTC().Format(time.RFC3339))
	}
	P(&data).kindFromAPI(integration)
	recent, diags := recentDeliveries(ctx, client, integration.ID, time.Now())
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	common.RecentDeliveries = recent

	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

// integrationLabelsValue converts API labels (possibly nil) to a known set, so "no labels" reads
// as an empty set rather than null.
func integrationLabelsValue(ctx context.Context, labels []string) (types.Set, diag.Diagnostics) {
	if labels == nil {
		labels = []string{}
	}
	return types.SetValueFrom(ctx, types.StringType, labels)
}
