// Package metrics is orbit-server's Prometheus registry: request counts and
// latencies, webhook delivery outcomes, Go and process collectors. It may import
// only store (for the kind's type) and the Prometheus client.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Metrics lives in its own registry so several servers (tests) can share a process.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
	http     http.Handler
}

// New builds a registry with every collector registered.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orbit_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_webhook_deliveries_total",
			Help: "Webhook deliveries received, by provider and outcome (accepted, ignored, duplicate, ping, bad_signature, bad_payload, too_large, unknown_integration, rate_limited, busy, error). A rejected delivery leaves only this count.",
		}, []string{"provider", "outcome"}),
	}
	m.registry.MustRegister(
		m.requests,
		m.latency,
		m.webhooks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.http = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	return m
}

// Observe counts one answered request.
func (m *Metrics) Observe(route string, status int, elapsed time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.latency.WithLabelValues(route, code).Observe(elapsed.Seconds())
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return m.http }

// WebhookOutcome counts one delivery by outcome.
func (m *Metrics) WebhookOutcome(provider store.Provider, outcome string) {
	m.webhooks.WithLabelValues(string(provider), outcome).Inc()
}

// WebhookGuard registers the receiver's guards: refused counts the deliveries
// answered 503 because every body-read slot was taken, tracked the client
// addresses the failed-signature limiter holds.
func (m *Metrics) WebhookGuard(refused, tracked func() float64) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "orbit_webhook_reads_refused_total",
			Help: "Webhook deliveries answered 503 without their body being read: every read slot (--webhook-read-slots) was taken.",
		}, refused),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "orbit_webhook_failure_clients",
			Help: "Client addresses the limiter of failed webhook signatures tracks.",
		}, tracked),
	)
}

// DroppedLogLines registers the count of access-log lines dropped by sampling
// (the lines of refused unauthenticated requests).
func (m *Metrics) DroppedLogLines(dropped func() float64) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "orbit_log_lines_dropped_total",
		Help: "Access-log lines of refused unauthenticated requests that were not written: at most a few per second are (a dropped_lines attribute on the next one says how many were left out).",
	}, dropped))
}
