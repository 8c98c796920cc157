package api

import (
	"context"
	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// The delivery log of an integration (API.md, "Delivery log"): what each accepted
// delivery was and what dispatching it decided. Reading the log is `read` on the
// integration's space; a body, and redelivering it, is `admin`.

// The wire types are apiwire's.
type (
	deliveryRun      = apiwire.DeliveryRun
	deliveryResponse = apiwire.Delivery
)

// pendingDecision is the decision of a delivery the worker has not dispatched yet.
const pendingDecision = "pending"

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *API) toDeliveryResponse(e store.DeliveryEntry) deliveryResponse {
	resp := deliveryResponse{ID: e.ID, IntegrationID: e.IntegrationID, ReceivedAt: wireTime(e.ReceivedAt),
		EventKey: e.EventKey, Namespace: e.Namespace, Repository: e.Repository, RequestID: e.RequestID,
		Attempt: e.Attempt, Signature: e.Secret, Decision: e.Decision, Outcome: e.Outcome, Runs: []deliveryRun{},
		RedeliveryOf: optional(e.RedeliveryOf), RequestedBy: optional(e.RequestedBy), BodyRetained: e.BodyRetained}
	if !e.ProcessedAt.IsZero() {
		at := wireTime(e.ProcessedAt)
		resp.ProcessedAt = &at
	}
	if e.ProcessedAt.IsZero() {
		resp.Decision = pendingDecision
	}
	for _, id := range e.RunIDs {
		resp.Runs = append(resp.Runs, deliveryRun{ID: id, URL: s.publicURL + apiPrefix + "/runs/" + id})
	}
	return resp
}

// listDeliveries is GET /integrations/{id}/deliveries, newest first.
func (s *API) listDeliveries(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return err
	}
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.DeliveryFilter{IntegrationID: in.ID, Decision: q.Get("decision"), EventKey: q.Get("event"),
		PageSize: lp.pageSize, PageToken: lp.pageToken}
	if err := checkSizes(sizeRule{"event", f.EventKey, maxFilterLen}, sizeRule{"repository", q.Get("repository"), maxFilterLen}); err != nil {
		return err
	}
	if f.Decision != "" && f.Decision != pendingDecision && !slices.Contains(store.Decisions, f.Decision) {
		return invalidArg("decision", "decision must be pending or one of %s", strings.Join(store.Decisions, ", "))
	}
	if repo := q.Get("repository"); repo != "" {
		ns, slug, ok := strings.Cut(repo, "/")
		if !ok || ns == "" || slug == "" {
			return invalidArg("repository", "repository must be <workspace or project key>/<repository slug>")
		}
		f.Namespace, f.Repository = ns, slug
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if raw := q.Get(t.name); raw != "" {
			at, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return invalidArg(t.name, "%s must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z", t.name)
			}
			*t.dst = at
		}
	}
	entries, next, err := s.store.ListDeliveries(r.Context(), f)
	if err != nil {
		return err
	}
	resp := listResponse[deliveryResponse]{Items: []deliveryResponse{}, NextPageToken: next}
	for _, e := range entries {
		resp.Items = append(resp.Items, s.toDeliveryResponse(e))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// integrationDelivery loads the delivery {delivery_id} of the integration the
// caller administers (404 when it belongs to another integration).
func (s *API) integrationDelivery(r *http.Request, p *principal) (store.DeliveryEntry, error) {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return store.DeliveryEntry{}, err
	}
	e, err := s.store.GetDeliveryEntry(r.Context(), r.PathValue("delivery_id"))
	if err != nil {
		return e, err
	}
	if e.IntegrationID != in.ID {
		return e, errNotFound("delivery")
	}
	return e, nil
}

// getDelivery is GET /integrations/{id}/deliveries/{delivery_id}: one entry with
// its body while retained (admin).
func (s *API) getDelivery(w http.ResponseWriter, r *http.Request, p *principal) error {
	e, err := s.integrationDelivery(r, p)
	if err != nil {
		return err
	}
	resp := s.toDeliveryResponse(e)
	var body *string
	if e.BodyRetained {
		text := string(e.Body)
		body = &text
	}
	writeJSON(w, http.StatusOK, apiwire.DeliveryWithBody{Delivery: resp, Body: body})
	return nil
}

// redeliverDelivery is POST /integrations/{id}/deliveries/{delivery_id}/redeliver:
// the retained body goes through today's bindings again as a new entry pointing
// to the original (admin). Runs the original or an earlier redelivery started
// are not started again.
func (s *API) redeliverDelivery(w http.ResponseWriter, r *http.Request, p *principal) error {
	e, err := s.integrationDelivery(r, p)
	if err != nil {
		return err
	}
	// With an Idempotency-Key, a retried request answers the first redelivery
	// instead of making another entry.
	err = s.respondCreated(w, r, http.StatusAccepted, func(ctx context.Context) (any, error) {
		d, err := s.store.Redeliver(ctx, e.ID, p.Key().ID)
		if err != nil {
			return nil, err
		}
		s.logger.Info("delivery redelivered", "delivery_id", d.ID, "redelivery_of", d.RedeliveryOf,
			"integration_id", d.IntegrationID, "api_key_id", p.Key().ID)
		return s.toDeliveryResponse(store.DeliveryEntry{Delivery: d, BodyRetained: true}), nil
	})
	if err == nil {
		s.queue.Wake(store.JobDelivery)
	}
	return err
}
