package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// The read-only health signals of the data sources (issue 22): orbit_stack's
// latest_run and the integration data sources' recent_deliveries. Both are computed
// on every read and never stored by a resource.

// latestRunAttrTypes is the object type of orbit_stack's latest_run.
var latestRunAttrTypes = map[string]attr.Type{
	"id":         types.StringType,
	"kind":       types.StringType,
	"state":      types.StringType,
	"result":     types.StringType,
	"commit":     types.StringType,
	"branch":     types.StringType,
	"page_url":   types.StringType,
	"created_at": types.StringType,
}

func latestRunAttribute() schema.SingleNestedAttribute {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "The stack's newest run, read when the data source is read; null while the stack has none " +
			"(or retention has removed them all). The states and results are described in the " +
			"\"Runs and commit statuses\" guide.",
		Computed: true,
		Attributes: map[string]schema.Attribute{
			"id":     str("Id of the run."),
			"kind":   str("`tracked` (a push to the bound branch, or a manual trigger) or `proposed` (a pull request)."),
			"state":  str("State of the run: `queued`, `running` or `finished`."),
			"result": str("Result of a finished run: `succeeded`, `failed` or `canceled`; null until it finishes."),
			"commit": str("Commit the run is for."),
			"branch": str("Branch the commit was pushed to (for a pull request, its source branch)."),
			"page_url": str("The run's page for API-key holders (`/api/v1/runs/{id}/page`), the page commit statuses link to. " +
				"The public capability link is not exposed, so it never lands in state."),
			"created_at": str("When the run was created (RFC 3339)."),
		},
	}
}

// latestRun reads the newest run of a stack: one page of one run, then the run
// itself for its page link. No run is a null object.
func latestRun(ctx context.Context, client *orbitapi.Client, stackID string) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	null := types.ObjectNull(latestRunAttrTypes)
	runs, _, err := client.Stacks.Runs(ctx, stackID, orbitapi.ListOptions{PageSize: 1})
	if err != nil {
		diags.AddError("Unable to read the stack's runs", err.Error())
		return null, diags
	}
	if len(runs) == 0 {
		return null, diags
	}
	run, err := client.Runs.Get(ctx, runs[0].ID)
	if err != nil {
		diags.AddError("Unable to read the stack's latest run", err.Error())
		return null, diags
	}
	result := types.StringNull()
	if run.Result != nil {
		result = types.StringValue(*run.Result)
	}
	return types.ObjectValue(latestRunAttrTypes, map[string]attr.Value{
		"id":         types.StringValue(run.ID),
		"kind":       types.StringValue(run.Kind),
		"state":      types.StringValue(run.State),
		"result":     result,
		"commit":     types.StringValue(run.Commit),
		"branch":     types.StringValue(run.Branch),
		"page_url":   types.StringValue(run.PageURL),
		"created_at": types.StringValue(run.CreatedAt.UTC().Format(time.RFC3339)),
	})
}

// recentDeliveriesWindow is how far back recent_deliveries counts.
const recentDeliveriesWindow = 24 * time.Hour

// deliveryDecisions are the decision codes of the delivery log (API.md, "Delivery
// log"), each counted in its own attribute of recent_deliveries. A test holds this list
// to the server's (store.Decisions plus pending).
var deliveryDecisions = []string{
	"pending", "runs_started", "runs_ended", "repository_renamed", "no_binding", "branch_not_tracked",
	"head_unchanged", "paths_not_touched", "event_ignored", "duplicate", "not_dispatched",
}

// decisionDescriptions describe each count of recent_deliveries.
var decisionDescriptions = map[string]string{
	"pending":            "Deliveries the worker has not decided on yet.",
	"runs_started":       "Deliveries that started runs.",
	"runs_ended":         "Closed (merged, declined, deleted) pull requests that ended their unfinished runs.",
	"repository_renamed": "Repositories Bitbucket reported renamed or moved (the bindings that named them name the new name).",
	"no_binding":         "Deliveries for a repository no attached stack is bound to through this integration.",
	"branch_not_tracked": "Deliveries for branches (or pull requests) the bound stacks do not run.",
	"head_unchanged":     "Pull request updates whose source commit did not move.",
	"paths_not_touched":  "Changes that touched no bound stack's project_root or additional_project_globs.",
	"event_ignored":      "Events that start nothing (tags, deleted branches, comments, approvals, ...).",
	"duplicate":          "Redeliveries whose runs were already started.",
	"not_dispatched":     "Stored deliveries that could no longer be read (unknown kind, unreadable body).",
}

// failedDecisions are the decisions recent_deliveries.failed adds up: a delivery
// reached Orbit but nothing could act on it because the setup or the delivery is
// broken (no binding for the repository through this integration, or a stored
// delivery that can no longer be read). Ignored events, untracked branches and
// duplicates are normal and do not count.
var failedDecisions = []string{"no_binding", "not_dispatched"}

func recentDeliveriesAttrTypes() map[string]attr.Type {
	out := map[string]attr.Type{"since": types.StringType, "total": types.Int64Type, "failed": types.Int64Type}
	for _, d := range deliveryDecisions {
		out[d] = types.Int64Type
	}
	return out
}

func recentDeliveriesAttribute() schema.SingleNestedAttribute {
	count := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: desc, Computed: true}
	}
	attrs := map[string]schema.Attribute{
		"since": schema.StringAttribute{
			MarkdownDescription: "Start of the window (RFC 3339): 24 hours before the read.",
			Computed:            true,
		},
		"total": count("Deliveries received since `since`."),
		"failed": count("Deliveries that reached Orbit but nothing could act on, because the setup or the delivery is broken: " +
			"the sum of `no_binding` and `not_dispatched`. Ignored events, untracked branches and duplicates are normal and not counted."),
	}
	for _, d := range deliveryDecisions {
		attrs[d] = count(decisionDescriptions[d])
	}
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Counts of the integration's delivery log over the last 24 hours, by decision: a cheap health signal " +
			"for `check` blocks. Counted from `GET /api/v1/integrations/{id}/deliveries?since=…` (pages of 500) on every read, " +
			"so it needs `read` on the integration's space like the rest of this data source. Deliveries Orbit refused " +
			"(a bad signature, an unknown integration) are never stored and not counted.",
		Computed:   true,
		Attributes: attrs,
	}
}

// recentDeliveries counts the integration's deliveries received in the last day,
// following every page of the log.
func recentDeliveries(ctx context.Context, client *orbitapi.Client, integrationID string, now time.Time) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	since := now.Add(-recentDeliveriesWindow).UTC().Truncate(time.Second)
	counts := map[string]int64{}
	var total int64
	opts := orbitapi.DeliveryListOptions{Since: since, PageSize: 500}
	for {
		page, next, err := client.Integrations.Deliveries(ctx, integrationID, opts)
		if err != nil {
			diags.AddError("Unable to read the integration's delivery log", err.Error())
			return types.ObjectNull(recentDeliveriesAttrTypes()), diags
		}
		for _, d := range page {
			counts[d.Decision]++
			total++
		}
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	values := map[string]attr.Value{
		"since": types.StringValue(since.Format(time.RFC3339)),
		"total": types.Int64Value(total),
	}
	var failed int64
	for _, d := range failedDecisions {
		failed += counts[d]
	}
	values["failed"] = types.Int64Value(failed)
	for _, d := range deliveryDecisions {
		values[d] = types.Int64Value(counts[d])
	}
	return types.ObjectValue(recentDeliveriesAttrTypes(), values)
}
