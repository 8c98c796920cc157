package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	cloudUserAgent    = "Bitbucket-Webhooks/2.0"
	dcUserAgent       = "Bitbucket Data Center/9.2.0 (webhooks)"
	cloudMaxAttempts  = 3 // the first try and Bitbucket Cloud's two retries on 5xx
	responseSnippet   = 1024
	cloudPayloadLimit = 256 << 10
	// cloudPushCommitLimit is how many commits a Cloud push change lists at most.
	cloudPushCommitLimit = 5
)

// Event is what POST /_sandbox/events and Server.Fire take. See CONTROL.md.
type Event struct {
	Product     string       `json:"product"`
	Workspace   string       `json:"workspace,omitempty"`
	Project     string       `json:"project,omitempty"`
	Repository  string       `json:"repository"`
	Event       string       `json:"event"`
	Actor       string       `json:"actor,omitempty"`
	Branch      string       `json:"branch,omitempty"`
	Commits     []Commit     `json:"commits,omitempty"`
	OldHash     string       `json:"old_hash,omitempty"`
	PullRequest *PullRequest `json:"pull_request,omitempty"`
	Comment     string       `json:"comment,omitempty"`
	// PreviousComment is an edited comment's text before the edit (DC *:comment:edited).
	PreviousComment string `json:"previous_comment,omitempty"`
	// PreviousName is the repository's name (and slug) before a rename: Cloud
	// repo:updated changes, DC repo:modified old. Default: the name, unchanged.
	PreviousName string `json:"previous_name,omitempty"`
	// Issue is the issue of a Cloud issue event; default issue 1.
	Issue *Issue `json:"issue,omitempty"`
	Hook  string `json:"hook,omitempty"`
}

// Commit is one commit of a push or pull request. Files are the paths it adds or
// changes ("old -> new" for a rename); the change listings are built from them.
type Commit struct {
	Hash    string   `json:"hash"`
	Message string   `json:"message,omitempty"`
	Files   []string `json:"files,omitempty"`
}

// Issue describes the issue a Cloud issue event is about.
type Issue struct {
	ID            int    `json:"id"`
	Title         string `json:"title,omitempty"`
	State         string `json:"state,omitempty"`          // default "new"
	PreviousState string `json:"previous_state,omitempty"` // issue:updated changes.status.old
}

// PullRequest describes the pull request a PR event is about.
type PullRequest struct {
	ID                   int    `json:"id"`
	Title                string `json:"title,omitempty"`
	Description          string `json:"description,omitempty"`
	SourceBranch         string `json:"source_branch,omitempty"`
	SourceCommit         string `json:"source_commit,omitempty"`
	DestinationBranch    string `json:"destination_branch,omitempty"`
	DestinationCommit    string `json:"destination_commit,omitempty"`
	PreviousSourceCommit string `json:"previous_source_commit,omitempty"`
	// What DC pr:modified reports as changed: previousTitle, previousDescription and
	// previousTarget. Unset, each is the current value (that part did not change).
	PreviousTitle             *string `json:"previous_title,omitempty"`
	PreviousDescription       *string `json:"previous_description,omitempty"`
	PreviousDestinationBranch string  `json:"previous_destination_branch,omitempty"`
	PreviousDestinationCommit string  `json:"previous_destination_commit,omitempty"`
}

// Delivery is one delivery attempt and what came back.
type Delivery struct {
	ID             int               `json:"id"`
	Product        string            `json:"product"`
	Hook           string            `json:"hook"`
	Event          string            `json:"event"`
	URL            string            `json:"url"`
	RequestID      string            `json:"request_id"`
	Attempt        int               `json:"attempt"`
	RequestHeaders map[string]string `json:"request_headers"`
	RequestBody    string            `json:"request_body"`
	Status         int               `json:"status"`
	ResponseBody   string            `json:"response_body"`
	Error          string            `json:"error,omitempty"`
	At             time.Time         `json:"at"`
}

// cloudEventKeys are the Cloud events the control API fires: every key a repository
// hook can subscribe to (the description's list) but pipeline:span_created, a
// Pipelines event outside the repository, pull request, issue and project events.
var cloudEventKeys = slices.DeleteFunc(slices.Clone(cloudHookEvents), func(k string) bool { return k == "pipeline:span_created" })

// dcEventKeys are the Data Center events the control API fires: the repository, pull
// request, reviewer, comment and mirror events of Atlassian's payload documentation,
// and the test connection's diagnostics:ping.
var dcEventKeys = append(slices.DeleteFunc(slices.Clone(dcHookEvents), func(k string) bool {
	return k == "repo:secret_detected" || k == "build:status_updated"
}), "diagnostics:ping")

// target is one hook an event goes to, copied out of the state under the lock.
type target struct {
	hookID   string
	url      string
	secret   string
	insecure bool
}

// Fire builds the event's payload and delivers it to every active hook of the repository
// subscribed to it (or only to ev.Hook), synchronously. It returns every attempt.
func (s *Server) Fire(ctx context.Context, ev Event) ([]Delivery, error) {
	switch ev.Product {
	case "cloud":
		if !slices.Contains(cloudEventKeys, ev.Event) {
			return nil, fmt.Errorf("event: %q is not a Bitbucket Cloud event key this sandbox fires (one of %s)", ev.Event, strings.Join(cloudEventKeys, ", "))
		}
	case "datacenter":
		if !slices.Contains(dcEventKeys, ev.Event) {
			return nil, fmt.Errorf("event: %q is not a Bitbucket Data Center event key this sandbox fires (one of %s)", ev.Event, strings.Join(dcEventKeys, ", "))
		}
	default:
		return nil, fmt.Errorf("product: must be cloud or datacenter")
	}
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	if base == "" {
		base = "http://localhost:8790"
	}
	s.mu.Lock()
	var (
		payload any
		targets []target
		err     error
	)
	if ev.Product == "cloud" {
		payload, targets, err = s.prepareCloud(base, ev)
	} else {
		payload, targets, err = s.prepareDC(base, ev)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for _, t := range targets {
		if ev.Product == "cloud" {
			if len(body) > cloudPayloadLimit {
				continue // Bitbucket Cloud does not send payloads over 256 KB
			}
			out = append(out, s.deliverCloud(ctx, t, ev.Event, body)...)
		} else {
			signed := ev.Event != "diagnostics:ping"
			out = append(out, s.deliverDC(ctx, t, ev.Event, body, signed))
		}
	}
	return out, nil
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (s *Server) deliverCloud(ctx context.Context, t target, event string, body []byte) []Delivery {
	requestID := newUUID()
	var out []Delivery
	for attempt := 1; attempt <= cloudMaxAttempts; attempt++ {
		headers := map[string]string{
			"Content-Type":     "application/json",
			"User-Agent":       cloudUserAgent,
			"X-Event-Key":      event,
			"X-Request-UUID":   requestID,
			"X-Hook-UUID":      strings.Trim(t.hookID, "{}"),
			"X-Attempt-Number": fmt.Sprint(attempt),
		}
		if t.secret != "" {
			headers["X-Hub-Signature"] = sign(t.secret, body)
		}
		d := s.post(ctx, "cloud", t, event, requestID, attempt, headers, body)
		out = append(out, d)
		if d.Error == "" && d.Status < 500 {
			break
		}
		if attempt == cloudMaxAttempts {
			break
		}
		// Bitbucket Cloud spaces its retries out; they never follow milliseconds apart.
		select {
		case <-ctx.Done():
			return out
		case <-time.After(s.cfg.CloudRetryDelay << (attempt - 1)):
		}
	}
	return out
}

func (s *Server) deliverDC(ctx context.Context, t target, event string, body []byte, signed bool) Delivery {
	requestID := newUUID()
	headers := map[string]string{
		"Content-Type": "application/json; charset=UTF-8",
		"User-Agent":   dcUserAgent,
		"X-Event-Key":  event,
		"X-Request-Id": requestID,
	}
	if signed && t.secret != "" {
		headers["X-Hub-Signature"] = sign(t.secret, body)
	}
	return s.post(ctx, "datacenter", t, event, requestID, 1, headers, body)
}

// deliverDCPing sends Data Center's unsigned test-connection ping to url.
func (s *Server) deliverDCPing(ctx context.Context, hookID, url string) Delivery {
	return s.deliverDC(ctx, target{hookID: hookID, url: url}, "diagnostics:ping", []byte(`{"test":true}`), false)
}

func (s *Server) post(ctx context.Context, product string, t target, event, requestID string, attempt int, headers map[string]string, body []byte) Delivery {
	d := Delivery{
		Product: product, Hook: t.hookID, Event: event, URL: t.url, RequestID: requestID,
		Attempt: attempt, RequestHeaders: headers, RequestBody: string(body), At: time.Now().UTC(),
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		d.Error = err.Error()
		return s.record(d)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := s.client
	if t.insecure && s.cfg.DeliveryClient == nil {
		client = &http.Client{
			Timeout:   s.cfg.DeliveryTimeout,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the hook asked to skip verification
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		d.Error = err.Error()
		return s.record(d)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, responseSnippet))
	_, _ = io.Copy(io.Discard, resp.Body)
	d.Status, d.ResponseBody = resp.StatusCode, string(snippet)
	return s.record(d)
}

func (s *Server) record(d Delivery) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.ID = len(s.deliv) + 1
	s.deliv = append(s.deliv, d)
	return d
}

// Deliveries returns every delivery attempt, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliv...)
}

// ClearDeliveries forgets recorded deliveries.
func (s *Server) ClearDeliveries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliv = nil
}
