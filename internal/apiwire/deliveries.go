package apiwire

// The delivery log of an integration (API.md, "Delivery log") and the run page's
// capability link.

// DeliveryRun is a run a delivery started.
type DeliveryRun struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// Delivery is one entry of an integration's delivery log.
type Delivery struct {
	ID            string        `json:"id"`
	IntegrationID string        `json:"integration_id"`
	ReceivedAt    Time          `json:"received_at"`
	ProcessedAt   *Time         `json:"processed_at"`
	EventKey      string        `json:"event_key"`
	Namespace     string        `json:"namespace"`
	Repository    string        `json:"repository"`
	RequestID     string        `json:"request_id"`
	Attempt       int           `json:"attempt"`
	Signature     string        `json:"signature"`
	Decision      string        `json:"decision"`
	Outcome       string        `json:"outcome"`
	Runs          []DeliveryRun `json:"runs"`
	RedeliveryOf  *string       `json:"redelivery_of"`
	RequestedBy   *string       `json:"requested_by"`
	BodyRetained  bool          `json:"body_retained"`
}

// DeliveryWithBody is GET .../deliveries/{id}: the entry and its raw JSON body,
// null when not retained.
type DeliveryWithBody struct {
	Delivery
	Body *string `json:"body"`
}

// RunPageLink is the answer of POST /runs/{id}/page-link.
type RunPageLink struct {
	RunID         string  `json:"run_id"`
	PageURL       string  `json:"page_url"`
	PublicPageURL *string `json:"public_page_url"`
}
