package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/receiver"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// watchedBody counts the reads of a request body; block, when set, holds the
// first read until it is closed.
type watchedBody struct {
	r     io.Reader
	reads atomic.Int64
	block chan struct{}
	began chan struct{}
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.reads.Add(1) == 1 && b.block != nil {
		close(b.began)
		<-b.block
	}
	return b.r.Read(p)
}

func serveWebhook(h http.Handler, url string, body io.Reader, size int64, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, url, body)
	req.ContentLength = size
	req.RemoteAddr = "192.0.2.10:4711"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestWebhookRefusesBeforeReading: an unsigned delivery is 401 and a client over
// its failed-signature allowance 429 with Retry-After, neither with a byte of the
// body read; a DC ping is still answered; beyond the read slots a large delivery
// is 503 with Retry-After, unread, while small ones still have slots.
func TestWebhookRefusesBeforeReading(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.WebhookReadSlots, c.WebhookFailureBurst = 1, 3
	}))
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, cloudBody("guarded", "root", "tok"))
	dc := newHookTarget(t, c, dcBody("guarded-dc", "root", "tok"))
	handler := inst.Server.Handler()
	path := strings.TrimPrefix(h.url, inst.PublicURL)
	payload := strings.Repeat("x", receiver.SmallBody+1) // read under the --webhook-read-slots gate
	headers := func(signature string) map[string]string {
		m := map[string]string{"X-Event-Key": "repo:push", "X-Request-UUID": "r"}
		if signature != "" {
			m["X-Hub-Signature"] = signature
		}
		return m
	}

	unsigned := &watchedBody{r: strings.NewReader(payload)}
	if w := serveWebhook(handler, path, unsigned, int64(len(payload)), headers("")); w.Code != http.StatusUnauthorized || unsigned.reads.Load() != 0 {
		t.Fatalf("unsigned: %d %s, %d reads", w.Code, w.Body, unsigned.reads.Load())
	}
	ping := &watchedBody{r: strings.NewReader(`{"test": true}`)}
	if w := serveWebhook(handler, strings.TrimPrefix(dc.url, inst.PublicURL), ping, 14, map[string]string{"X-Event-Key": "diagnostics:ping"}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "pong") {
		t.Fatalf("ping: %d %s", w.Code, w.Body)
	}

	// One slot: a delivery whose body is being read holds it; the next is 503, unread.
	held := &watchedBody{r: strings.NewReader(payload), block: make(chan struct{}), began: make(chan struct{})}
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- serveWebhook(handler, path, held, int64(len(payload)), headers("sha256="+strings.Repeat("0", 64)))
	}()
	<-held.began
	busy := &watchedBody{r: strings.NewReader(payload)}
	w := serveWebhook(handler, path, busy, int64(len(payload)), headers("sha256="+strings.Repeat("0", 64)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || busy.reads.Load() != 0 {
		t.Fatalf("beyond the read slots: %d %s, Retry-After %q, %d reads", w.Code, w.Body, w.Header().Get("Retry-After"), busy.reads.Load())
	}
	// A small delivery (nearly every real one) has slots of its own.
	small := h.push("small-while-busy")
	hs := headers(bitbucket.Sign(bitbucket.Secret(h.secret), []byte(small.body)))
	hs["X-Request-UUID"] = small.requestID
	if w := serveWebhook(handler, path, strings.NewReader(small.body), int64(len(small.body)), hs); w.Code != http.StatusAccepted {
		t.Fatalf("small delivery while the large slots are taken: %d %s", w.Code, w.Body)
	}
	close(held.block)
	if w := <-done; w.Code != http.StatusUnauthorized {
		t.Fatalf("held delivery: %d %s", w.Code, w.Body)
	}

	// The unsigned and the held one were failures 1 and 2 of 3; one more, then 429.
	wrong := &watchedBody{r: strings.NewReader(payload)}
	if w := serveWebhook(handler, path, wrong, int64(len(payload)), headers(bitbucket.Sign("other", []byte(payload)))); w.Code != http.StatusUnauthorized {
		t.Fatalf("third failure: %d %s", w.Code, w.Body)
	}
	limited := &watchedBody{r: strings.NewReader(payload)}
	w = serveWebhook(handler, path, limited, int64(len(payload)), headers(bitbucket.Sign(bitbucket.Secret(h.secret), []byte(payload))))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || limited.reads.Load() != 0 {
		t.Fatalf("over the allowance: %d %s, Retry-After %q, %d reads", w.Code, w.Body, w.Header().Get("Retry-After"), limited.reads.Load())
	}
	for _, series := range []string{`orbit_webhook_deliveries_total{outcome="rate_limited",provider="bitbucket_cloud"}`,
		`orbit_webhook_deliveries_total{outcome="busy",provider="bitbucket_cloud"}`, `orbit_webhook_reads_refused_total`} {
		if got := metricValue(t, c, series); got != "1" {
			t.Errorf("%s = %s, want 1", series, got)
		}
	}
}

// lineCounter counts the lines written to it.
type lineCounter struct{ n atomic.Int64 }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n.Add(int64(strings.Count(string(p), "\n")))
	return len(p), nil
}

// TestRefusedRequestsLogSampled: the access-log lines of refused unauthenticated
// requests are sampled; what is left out is counted.
func TestRefusedRequestsLogSampled(t *testing.T) {
	t.Parallel()
	var lines lineCounter
	inst := servertest.Start(t, servertest.WithLogger(slog.New(slog.NewJSONHandler(&lines, nil))))
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, cloudBody("sampled", "root", "tok"))
	handler := inst.Server.Handler()
	path := strings.TrimPrefix(h.url, inst.PublicURL)
	start := lines.n.Load()
	const refused = 200
	for range refused {
		if w := serveWebhook(handler, path, strings.NewReader("{}"), 2, map[string]string{"X-Event-Key": "repo:push"}); w.Code/100 != 4 {
			t.Fatalf("unsigned: %d", w.Code)
		}
	}
	written := lines.n.Load() - start
	dropped, err := strconv.Atoi(metricValue(t, c, "orbit_log_lines_dropped_total"))
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 || written+int64(dropped) != refused {
		t.Errorf("%d refusals: %d lines written, %d dropped", refused, written, dropped)
	}
}
