package server_test

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// TestOperatorMetrics scrapes /metrics through what an on-call person watches (the
// table in OPERATIONS.md#metrics): the build, the queue's depth and oldest job by kind,
// deliveries by outcome, a lease taken over from a worker that died, status posts by
// product and outcome (a 503 retried, then posted), and the rows retention pruned.
func TestOperatorMetrics(t *testing.T) {
	t.Parallel()
	// First a server that stores deliveries and runs no worker: the job waits.
	paused := servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true })
	l := newLoop(t, "individual", paused)
	stack := l.bind("net", l.dc, "PLAT")
	head := hash(90)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed",
		Branch: "main", Commits: []sandbox.Commit{{Hash: head}}})

	wantMetric(t, l.c, `orbit_build_info{goversion="`+runtime.Version()+`",version="`+version.Get()+`"}`, 1)
	wantMetric(t, l.c, `orbit_webhook_deliveries_total{outcome="accepted",provider="bitbucket_datacenter"}`, 1)
	wantMetric(t, l.c, `orbit_queue_jobs{kind="delivery"}`, 1)
	wantMetric(t, l.c, `orbit_queue_jobs{kind="status"}`, 0)
	if age := metricFloat(t, l.c, `orbit_queue_oldest_job_age_seconds{kind="delivery"}`); age <= 0 || age > 600 {
		t.Fatalf("oldest delivery job age %v s, want the seconds since the push", age)
	}
	if health := l.c.must(http.MethodGet, "/healthz", nil, http.StatusOK); health["version"] != version.Get() {
		t.Fatalf("healthz %v, want version %q", health, version.Get())
	}
	// A worker claims the delivery and dies at once (a 1ns lease).
	first := l.inst
	if jobs, err := first.Server.Store().ClaimJobs(t.Context(), store.JobDelivery, 10, 1); err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %+v", err, jobs)
	}
	first.Stop(t)

	// The next server takes the job over, dispatches it, posts the status after one
	// 503, and prunes the body at once and the run once finished (1ns windows).
	l.sb.AddFault(sandbox.Fault{Status: 503, Count: 1, PathPrefix: "/rest/api/latest/projects/PLAT/repos/infra/commits", Method: http.MethodPost})
	second := servertest.Start(t, servertest.WithDatabase(first.DBPath, first.SecretKey, first.AdminKey),
		servertest.WithConfig(func(c *server.Config) {
			c.BitbucketCloudAPIURL = l.sb.URL
			c.DeliveryBodyRetention, c.RunRetention, c.RetentionInterval = time.Nanosecond, time.Nanosecond, 20*time.Millisecond
		}))
	l.inst, l.c = second, newClient(t, second, second.AdminKey)
	runs := l.waitRuns(head, 1)
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "INPROGRESS"})
	l.finish(runs[0].ID, "succeeded")
	l.waitStatuses("datacenter", head, map[string]string{stackKey(stack): "SUCCESSFUL"})
	eventually(t, "the finished run pruned", func() (bool, string) {
		return metricFloat(t, l.c, `orbit_retention_pruned_total{what="runs"}`) == 1, "not yet"
	})

	wantMetric(t, l.c, `orbit_queue_lease_takeovers_total{kind="delivery"}`, 1)
	wantMetric(t, l.c, `orbit_status_posts_total{outcome="retry",product="bitbucket_datacenter"}`, 1)
	wantMetric(t, l.c, `orbit_status_posts_total{outcome="posted",product="bitbucket_datacenter"}`, 2)
	wantMetric(t, l.c, `orbit_retention_pruned_total{what="delivery_bodies"}`, 1)
	wantMetric(t, l.c, `orbit_queue_jobs{kind="delivery"}`, 0)
	wantMetric(t, l.c, `orbit_queue_jobs{kind="status"}`, 0)
	wantMetric(t, l.c, `orbit_queue_oldest_job_age_seconds{kind="status"}`, 0)
}

func metricFloat(t testing.TB, c *client, series string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(metricValue(t, c, series), 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

func wantMetric(t testing.TB, c *client, series string, want float64) {
	t.Helper()
	if got := metricFloat(t, c, series); got != want {
		_, body := c.do(http.MethodGet, "/metrics", nil)
		t.Fatalf("%s = %v, want %v\n%s", series, got, want, body)
	}
}
