package orbitapi

import (
	"context"
	"net/url"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

type (
	// Delivery is one entry of an integration's delivery log (API.md, "Delivery
	// log"). Its Decision is pending, runs_started, or why no run started
	// (no_binding, branch_not_tracked, head_unchanged, paths_not_touched,
	// runs_ended, repository_renamed, event_ignored, duplicate, not_dispatched); its Signature the
	// webhook secret that verified it (current or previous).
	Delivery = apiwire.Delivery
	// DeliveryWithBody is one entry with its raw JSON body (nil when not retained).
	DeliveryWithBody = apiwire.DeliveryWithBody
	// DeliveryRun is a run a delivery started.
	DeliveryRun = apiwire.DeliveryRun
)

// DeliveryListOptions filter the delivery log; empty fields do not filter.
type DeliveryListOptions struct {
	Decision   string
	Event      string
	Repository string // <workspace or project key>/<slug>
	Since      time.Time
	Until      time.Time
	PageSize   int
	PageToken  string
}

func (o DeliveryListOptions) values() url.Values {
	q := ListOptions{PageSize: o.PageSize, PageToken: o.PageToken}.values()
	for k, v := range map[string]string{"decision": o.Decision, "event": o.Event, "repository": o.Repository} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !o.Since.IsZero() {
		q.Set("since", o.Since.UTC().Format(time.RFC3339))
	}
	if !o.Until.IsZero() {
		q.Set("until", o.Until.UTC().Format(time.RFC3339))
	}
	return q
}

func deliveryPath(integrationID, deliveryID string) string {
	return integrationPath(integrationID) + "/deliveries/" + pathEscape(deliveryID)
}

// Deliveries lists one page of the integration's delivery log, newest first.
func (s *IntegrationsService) Deliveries(ctx context.Context, integrationID string, opts DeliveryListOptions) ([]Delivery, string, error) {
	return listPage[Delivery](ctx, s.client, integrationPath(integrationID)+"/deliveries", opts.values())
}

// Delivery reads one entry with its body while retained (admin only).
func (s *IntegrationsService) Delivery(ctx context.Context, integrationID, deliveryID string) (*DeliveryWithBody, error) {
	var out DeliveryWithBody
	if err := s.client.do(ctx, request{method: "GET", path: deliveryPath(integrationID, deliveryID)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Redeliver processes a retained delivery again through today's bindings and
// returns the new, pending entry (admin only).
func (s *IntegrationsService) Redeliver(ctx context.Context, integrationID, deliveryID string) (*Delivery, error) {
	var out Delivery
	if err := s.client.do(ctx, request{method: "POST", path: deliveryPath(integrationID, deliveryID) + "/redeliver"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
