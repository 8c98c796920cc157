// Package metrics is orbit-server's Prometheus registry: request counts and
// latencies, webhook delivery outcomes, the queue (depth, oldest job, lease
// takeovers), commit status posts, retention, the build, Go and process
// collectors. It may import only store (for the kind's type), version and the
// Prometheus client. The metrics table of OPERATIONS.md lists every orbit_* series.
package metrics

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// Metrics lives in its own registry so several servers (tests) can share a process.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	webhooks *prometheus.CounterVec
	statuses *prometheus.CounterVec
	pruned   *prometheus.CounterVec
	takeover *prometheus.CounterVec
	queue    *queueCollector
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
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_status_posts_total",
			Help: "Commit status jobs handled, by product (the integration's kind) and outcome (posted, retry, refused, abandoned, skipped).",
		}, []string{"product", "outcome"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_retention_pruned_total",
			Help: "Rows pruned by retention, by what (delivery_bodies: bodies emptied, the row kept; deliveries; runs).",
		}, []string{"what"}),
		takeover: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orbit_queue_lease_takeovers_total",
			Help: "Jobs claimed after another worker's lease on them ran out (the worker or its replica stopped without finishing), by job kind.",
		}, []string{"kind"}),
		queue: &queueCollector{
			depth: prometheus.NewDesc("orbit_queue_jobs", "Jobs in the queue (shared by every replica of the database), by job kind.", []string{"kind"}, nil),
			age: prometheus.NewDesc("orbit_queue_oldest_job_age_seconds",
				"Age of the oldest job in the queue, by job kind (0 when none waits).", []string{"kind"}, nil),
		},
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orbit_build_info",
		Help: "Always 1; the labels say which orbit-server build runs (version, goversion).",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version.Get(), runtime.Version()).Set(1)
	m.registry.MustRegister(
		m.requests,
		m.latency,
		m.webhooks,
		m.statuses,
		m.pruned,
		m.takeover,
		m.queue,
		buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.http = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
	return m
}

// Register adds another part's collectors (the VCS agent hub's) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.registry.MustRegister(cs...) }

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

// StatusPost counts one commit status job of an integration of kind product, by
// outcome: posted, retry (failed, will be tried again), refused (Bitbucket or the
// server refused for good), abandoned (out of attempts), skipped (nothing to post to).
func (m *Metrics) StatusPost(product store.Provider, outcome string) {
	if m != nil {
		m.statuses.WithLabelValues(string(product), outcome).Add(1)
	}
}

// Pruned counts n rows pruned by retention; what is delivery_bodies, deliveries or runs.
func (m *Metrics) Pruned(what string, n int) {
	if m != nil && n > 0 {
		m.pruned.WithLabelValues(what).Add(float64(n))
	}
}

// LeaseTakeovers counts n jobs of kind claimed after another worker's lease ran out.
func (m *Metrics) LeaseTakeovers(kind store.JobKind, n int) {
	if m != nil && n > 0 {
		m.takeover.WithLabelValues(string(kind)).Add(float64(n))
	}
}

// QueueStatsFunc reads the queue's figures; SetQueueStats installs it.
type QueueStatsFunc func(ctx context.Context) ([]store.QueueStat, error)

// SetQueueStats makes every scrape report the queue as stats reads it (at most a
// few seconds per scrape; a failed read reports nothing for the queue).
func (m *Metrics) SetQueueStats(stats QueueStatsFunc) { m.queue.stats.Store(&stats) }

// queueCollector reads the queue from the store at scrape time, so that every
// replica reports the same shared queue and nothing is kept in step by hand.
type queueCollector struct {
	depth, age *prometheus.Desc
	stats      atomic.Pointer[QueueStatsFunc]
}

// queueKinds are reported even when empty (0), so a dashboard has a series.
var queueKinds = []store.JobKind{store.JobDelivery, store.JobStatus}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	fn := c.stats.Load()
	if fn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	stats, err := (*fn)(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	now := time.Now()
	byKind := map[store.JobKind]store.QueueStat{}
	for _, s := range stats {
		byKind[s.Kind] = s
	}
	kinds := append([]store.JobKind(nil), queueKinds...)
	for k := range byKind {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		s := byKind[k]
		age := 0.0
		if s.Jobs > 0 {
			age = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Jobs), string(k))
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, string(k))
	}
}

// queueStatsTimeout bounds the store read of one scrape.
const queueStatsTimeout = 5 * time.Second
