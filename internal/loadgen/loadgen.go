// Package loadgen sends signed Bitbucket Cloud push deliveries to orbit-server's
// webhook receiver, the way Bitbucket does: one POST per delivery with
// X-Event-Key, X-Request-UUID, X-Attempt-Number and an X-Hub-Signature HMAC of
// the exact body; a failed attempt (no answer, 5xx) is sent again with the same
// request id. A share of the sends repeat a delivery already acknowledged (the
// receiver's dedupe hits).
//
// It runs as its own process (Main) in the durability tests and `make bench`, so
// the load never shares a Go runtime with the server it measures. Each 2xx is
// written as a JSON line as soon as it arrives, so a reader knows exactly which
// deliveries were acknowledged even if the server is killed mid-run.
package loadgen

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load run.
type Config struct {
	// Targets are receiver URLs (…/webhooks/bitbucket-cloud/<integration>); sends
	// go to them in turn, so several replicas share the load.
	Targets []string
	// Secret is the integration's webhook secret.
	Secret []byte
	// Deliveries is how many distinct deliveries to get acknowledged.
	Deliveries int
	// Concurrency is the number of clients sending at once.
	Concurrency int
	// RepeatRatio is the share of sends that repeat an acknowledged delivery.
	RepeatRatio float64
	// Repository ("workspace/slug") and Branch the pushes are to.
	Repository, Branch string
	// RunID prefixes request ids and commits, so two runs never collide.
	RunID string
	// GiveUpAfter bounds how long one delivery is retried (the server may be
	// down for a restart); 0 means 60s.
	GiveUpAfter time.Duration
	// Client sends the requests; nil means a pooled client with a 10s timeout
	// (Bitbucket's delivery timeout).
	Client *http.Client

	template *pushTemplate
}

// Ack is one acknowledged send.
type Ack struct {
	RequestID string `json:"request_id"`
	Commit    string `json:"commit"`
	Status    int    `json:"status"`
	// Repeat marks a send of an already acknowledged delivery.
	Repeat    bool  `json:"repeat,omitempty"`
	LatencyUS int64 `json:"latency_us"`
	// Attempt is the X-Attempt-Number that was acknowledged.
	Attempt int `json:"attempt"`
}

// Summary is what a run measured.
type Summary struct {
	Deliveries int     `json:"deliveries"`
	Repeats    int     `json:"repeats"`
	Retries    int     `json:"retries"`
	Failed     int     `json:"failed"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	P50MS      float64 `json:"p50_ms"`
	P99MS      float64 `json:"p99_ms"`
	MaxMS      float64 `json:"max_ms"`
}

// CommitFor is the commit hash of delivery i of run runID: 40 hex characters.
func CommitFor(runID string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", runID, i))
	return hex.EncodeToString(sum[:20])
}

// RequestIDFor is delivery i's X-Request-UUID.
func RequestIDFor(runID string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "request %s/%d", runID, i))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// Sign is the X-Hub-Signature value of body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// job is one send to make.
type job struct {
	index  int
	repeat bool
}

// Run sends cfg.Deliveries deliveries (plus repeats) and calls onAck for every
// 2xx, from several goroutines but never concurrently. It returns when every
// delivery is acknowledged or given up, or ctx ends.
func Run(ctx context.Context, cfg Config, onAck func(Ack)) (Summary, error) {
	if len(cfg.Targets) == 0 || cfg.Deliveries <= 0 {
		return Summary{}, errors.New("loadgen: no targets or no deliveries")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 60 * time.Second
	}
	cfg.template = &pushTemplate{}
	if cfg.RunID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.RunID = hex.EncodeToString(b[:])
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: cfg.Concurrency,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		}}
	}

	// The plan: every distinct delivery once, with repeats of earlier ones mixed
	// in at random places (a repeat is only sent after its original was acked).
	repeats := int(math.Round(float64(cfg.Deliveries) * cfg.RepeatRatio / (1 - min(cfg.RepeatRatio, 0.9))))
	plan := make([]job, 0, cfg.Deliveries+repeats)
	for i := range cfg.Deliveries {
		plan = append(plan, job{index: i})
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for range repeats {
		at := rng.IntN(len(plan)-1) + 1
		plan = slices.Insert(plan, at, job{repeat: true})
	}

	var (
		mu        sync.Mutex
		acked     []int // indexes of acked deliveries, for repeats
		latencies []time.Duration
		sum       Summary
		next      atomic.Int64
	)
	record := func(a Ack, index int, lat time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if !a.Repeat {
			acked = append(acked, index)
			sum.Deliveries++
		} else {
			sum.Repeats++
		}
		latencies = append(latencies, lat)
		if onAck != nil {
			onAck(a)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= len(plan) {
					return
				}
				j := plan[n]
				if j.repeat {
					mu.Lock()
					if len(acked) == 0 {
						mu.Unlock()
						continue
					}
					j.index = acked[rng.IntN(len(acked))]
					mu.Unlock()
				}
				target := cfg.Targets[(n+w)%len(cfg.Targets)]
				a, lat, retries, err := send(ctx, client, cfg, target, j)
				mu.Lock()
				sum.Retries += retries
				if err != nil {
					sum.Failed++
				}
				mu.Unlock()
				if err == nil {
					record(a, j.index, lat)
				}
			}
		}()
	}
	wg.Wait()
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.PerSecond = float64(sum.Deliveries+sum.Repeats) / sum.Seconds
	}
	slices.Sort(latencies)
	sum.P50MS = percentileMS(latencies, 0.50)
	sum.P99MS = percentileMS(latencies, 0.99)
	if len(latencies) > 0 {
		sum.MaxMS = float64(latencies[len(latencies)-1].Microseconds()) / 1000
	}
	return sum, ctx.Err()
}

func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// send delivers one job, retrying (as Bitbucket does) on no answer or a 5xx;
// the latency is that of the attempt that got the 2xx.
func send(ctx context.Context, client *http.Client, cfg Config, target string, j job) (Ack, time.Duration, int, error) {
	commit := CommitFor(cfg.RunID, j.index)
	requestID := RequestIDFor(cfg.RunID, j.index)
	body := cfg.push(commit)
	sig := Sign(cfg.Secret, body)
	deadline := time.Now().Add(cfg.GiveUpAfter)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return Ack{}, 0, attempt - 1, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Bitbucket-Webhooks/2.0")
		req.Header.Set("X-Event-Key", "repo:push")
		req.Header.Set("X-Request-UUID", requestID)
		req.Header.Set("X-Attempt-Number", fmt.Sprint(attempt))
		req.Header.Set("X-Hub-Signature", sig)
		began := time.Now()
		resp, err := client.Do(req)
		lat := time.Since(began)
		status := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status >= 200 && status < 300 {
				return Ack{RequestID: requestID, Commit: commit, Status: status, Repeat: j.repeat,
					LatencyUS: lat.Microseconds(), Attempt: attempt}, lat, attempt - 1, nil
			}
			if status < 500 && status != http.StatusTooManyRequests {
				return Ack{}, 0, attempt - 1, fmt.Errorf("delivery %s: HTTP %d", requestID, status)
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("HTTP %d", status)
			}
			return Ack{}, 0, attempt - 1, fmt.Errorf("delivery %s: gave up after %d attempts: %w", requestID, attempt, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// pushTemplate is CloudPush with a placeholder commit, built once per run: the
// load process must not spend on JSON what the server under test could use.
type pushTemplate struct {
	once  sync.Once
	parts [][]byte // the body split at the placeholder
}

// placeholderCommit stands for the commit in the template; no other part of the
// body is 40 times "f".
const placeholderCommit = "ffffffffffffffffffffffffffffffffffffffff"

func (c *Config) push(commit string) []byte {
	c.template.once.Do(func() {
		c.template.parts = bytes.Split(CloudPush(c.Repository, c.Branch, placeholderCommit), []byte(placeholderCommit))
	})
	return bytes.Join(c.template.parts, []byte(commit))
}

// CloudPush is the body of a Bitbucket Cloud repo:push of commit to branch of
// repository ("workspace/slug"), in the shape of a real delivery (repository,
// push.changes[].new/old with their targets, actor).
func CloudPush(repository, branch, commit string) []byte {
	web := "https://bitbucket.org/" + repository
	api := "https://api.bitbucket.org/2.0/repositories/" + repository
	actor := map[string]any{
		"type": "user", "display_name": "Load Generator", "nickname": "loadgen",
		"uuid": "{7c6f8e0a-0b53-4c43-9a55-0d5d3a1c6f00}", "account_id": "557058:loadgen",
		"links": map[string]any{"html": map[string]string{"href": "https://bitbucket.org/loadgen/"}},
	}
	ref := func(hash string) map[string]any {
		return map[string]any{
			"type": "branch", "name": branch,
			"links": map[string]any{"html": map[string]string{"href": web + "/branch/" + branch}},
			"target": map[string]any{
				"type": "commit", "hash": hash, "date": "2026-12-01T00:00:00+00:00",
				"message": "load test commit\n", "author": map[string]any{"raw": "Load Generator <loadgen@example.com>", "type": "author"},
				"links":   map[string]any{"self": map[string]string{"href": api + "/commit/" + hash}},
				"parents": []any{},
			},
		}
	}
	body := map[string]any{
		"actor": actor,
		"repository": map[string]any{
			"type": "repository", "full_name": repository, "name": repository[indexAfterSlash(repository):],
			"is_private": true, "scm": "git", "uuid": "{0d6f2a2e-8f1a-4d0e-9a4f-2f3d1c0b9e11}",
			"links": map[string]any{"html": map[string]string{"href": web}},
		},
		"push": map[string]any{
			"changes": []any{map[string]any{
				"new": ref(commit), "old": ref("0000000000000000000000000000000000000000"),
				"created": false, "forced": false, "closed": false, "truncated": false,
				"commits": []any{map[string]any{"type": "commit", "hash": commit, "message": "load test commit\n"}},
			}},
		},
	}
	out, err := json.Marshal(body)
	if err != nil {
		panic(err) // only maps of strings and slices
	}
	return out
}

func indexAfterSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i + 1
		}
	}
	return 0
}
