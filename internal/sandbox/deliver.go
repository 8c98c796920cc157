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
	"net/url"
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
	Hook        string       `json:"hook,omitempty"`
}

// Commit is one pushed commit.
type Commit struct {
	Hash    string `json:"hash"`
	Message string `json:"message,omitempty"`
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

var cloudEventKeys = []string{
	"repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:approved",
	"pullrequest:unapproved", "pullrequest:fulfilled", "pullrequest:rejected",
	"pullrequest:comment_created",
}

var dcEventKeys = []string{
	"repo:refs_changed", "pr:opened", "pr:from_ref_updated", "pr:modified",
	"pr:reviewer:approved", "pr:reviewer:unapproved", "pr:merged", "pr:declined",
	"pr:deleted", "pr:comment:added", "diagnostics:ping",
}

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

// ---- Cloud payloads ----

func (s *Server) prepareCloud(base string, ev Event) (any, []target, error) {
	repo := s.state.cloudRepos[ev.Workspace+"/"+ev.Repository]
	if repo == nil {
		return nil, nil, fmt.Errorf("repository: no Cloud repository %s/%s", ev.Workspace, ev.Repository)
	}
	actorKey := strings.ToLower(ev.Actor)
	if actorKey == "" {
		actorKey = s.state.firstCloud
	}
	actor := s.state.cloudUsers[actorKey]
	if actor == nil {
		return nil, nil, fmt.Errorf("actor: no Cloud user %q", ev.Actor)
	}
	var targets []target
	for _, h := range repo.hooks {
		if ev.Hook != "" {
			if strings.EqualFold(h.UUID, braced(ev.Hook)) {
				targets = append(targets, target{hookID: h.UUID, url: h.URL, secret: h.Secret, insecure: h.SkipCertVerification})
			}
			continue
		}
		if h.Active && slices.Contains(h.Events, ev.Event) {
			targets = append(targets, target{hookID: h.UUID, url: h.URL, secret: h.Secret, insecure: h.SkipCertVerification})
		}
	}
	if ev.Hook != "" && len(targets) == 0 {
		return nil, nil, fmt.Errorf("hook: no hook %s on %s/%s", ev.Hook, ev.Workspace, ev.Repository)
	}
	now := time.Now().UTC()
	actorJSON := cloudActorJSON(base, actor)
	repoJSON := s.cloudRepoJSON(base, repo)
	delete(repoJSON, "mainbranch")
	repoJSON["website"] = ""
	if owner, ok := repoJSON["owner"].(map[string]any); ok {
		owner["account_id"] = uuidFrom("workspace:" + repo.Workspace)
		owner["nickname"] = repo.Workspace
		delete(owner, "username") // gone from payloads, as from every user object
	}
	// A commit's author as git recorded it: "Name <email>".
	authorRaw := fmt.Sprintf("%s <%s>", actor.DisplayName, actor.Email)
	payload := map[string]any{"actor": actorJSON, "repository": repoJSON}
	api := base + "/2.0/repositories/" + repo.Workspace + "/" + repo.Slug
	html := base + "/" + repo.Workspace + "/" + repo.Slug

	if ev.Event == "repo:push" {
		branch := ev.Branch
		if branch == "" {
			branch = repo.MainBranch
		}
		commits := ev.Commits
		if len(commits) == 0 {
			commits = []Commit{{Hash: randomHex(20), Message: "Update " + repo.Slug}}
		}
		var commitJSON []any
		parent, headParent := ev.OldHash, ""
		for _, c := range commits { // Bitbucket lists the newest commit first
			commitJSON = append([]any{cloudCommitJSON(api, html, c, parent, actorJSON, authorRaw, now)}, commitJSON...)
			headParent, parent = parent, c.Hash
			repo.knownCommits = append(repo.knownCommits, c.Hash)
			repo.rememberMessage(c.Hash, c.Message)
		}
		head := commits[len(commits)-1]
		ref := func(hash, message, parent string) map[string]any {
			return map[string]any{
				"type": "branch", "name": branch,
				"links": map[string]any{
					"commits": link(api + "/commits/" + branch),
					"self":    link(api + "/refs/branches/" + branch),
					"html":    link(html + "/branch/" + branch),
				},
				"target": cloudCommitJSON(api, html, Commit{Hash: hash, Message: message}, parent, actorJSON, authorRaw, now),
			}
		}
		// The new head's target lists its parent, as in Bitbucket's payloads.
		change := map[string]any{
			"forced": false, "created": ev.OldHash == "", "closed": false, "truncated": false,
			"old": nil, "new": ref(head.Hash, head.Message, headParent), "commits": commitJSON,
			"links": map[string]any{
				"commits": link(api + "/commits?include=" + head.Hash),
				"html":    link(html + "/branches/compare/" + head.Hash),
			},
		}
		if ev.OldHash != "" {
			// Bitbucket's forms: commits?include=<new>&exclude=<old>, compare/<new>..<old>;
			// the old head carries its message.
			change["old"] = ref(ev.OldHash, repo.messageOf(ev.OldHash), "")
			change["links"] = map[string]any{
				"commits": link(api + "/commits?include=" + head.Hash + "&exclude=" + ev.OldHash),
				"html":    link(html + "/branches/compare/" + head.Hash + ".." + ev.OldHash),
				"diff":    link(api + "/diff/" + head.Hash + ".." + ev.OldHash),
			}
		}
		payload["push"] = map[string]any{"changes": []any{change}}
		return payload, targets, nil
	}

	p, err := eventPullRequest(ev, repo.MainBranch)
	if err != nil {
		return nil, nil, err
	}
	repo.knownCommits = append(repo.knownCommits, p.SourceCommit, p.DestinationCommit)
	repoRef := map[string]any{"type": "repository", "full_name": repo.Workspace + "/" + repo.Slug, "name": repo.Name, "uuid": repo.UUID,
		"links": map[string]any{"self": link(api), "html": link(html)}}
	side := func(branch, hash string) map[string]any {
		return map[string]any{
			"branch":     map[string]any{"name": branch},
			"commit":     map[string]any{"type": "commit", "hash": shortHash(hash), "links": map[string]any{"self": link(api + "/commit/" + shortHash(hash)), "html": link(html + "/commits/" + shortHash(hash))}},
			"repository": repoRef,
		}
	}
	prAPI := fmt.Sprintf("%s/pullrequests/%d", api, p.ID)
	state := "OPEN"
	var mergeCommit, closedBy any
	switch ev.Event {
	case "pullrequest:fulfilled":
		state, closedBy = "MERGED", actorJSON
		merge := shortHash(randomHex(20))
		mergeCommit = map[string]any{"type": "commit", "hash": merge,
			"links": map[string]any{"self": link(api + "/commit/" + merge), "html": link(html + "/commits/" + merge)}}
	case "pullrequest:rejected":
		state, closedBy = "DECLINED", actorJSON
	}
	participants := []any{}
	if ev.Event == "pullrequest:approved" {
		participants = append(participants, map[string]any{"type": "participant", "user": actorJSON, "role": "REVIEWER", "approved": true, "state": "approved", "participated_on": rfc3339(now)})
	}
	prJSON := map[string]any{
		"type": "pullrequest", "id": p.ID, "title": p.Title, "description": p.Description,
		"summary": rendered(p.Description), "state": state,
		"rendered": map[string]any{"title": rendered(p.Title), "description": rendered(p.Description)}, "author": actorJSON,
		"source": side(p.SourceBranch, p.SourceCommit), "destination": side(p.DestinationBranch, p.DestinationCommit),
		"merge_commit": mergeCommit, "close_source_branch": false, "closed_by": closedBy,
		"reason": "", "created_on": rfc3339(now), "updated_on": rfc3339(now),
		"comment_count": 0, "task_count": 0, "reviewers": []any{}, "participants": participants,
		"links": map[string]any{
			"self": link(prAPI), "html": link(fmt.Sprintf("%s/pull-requests/%d", html, p.ID)),
			"commits": link(prAPI + "/commits"), "approve": link(prAPI + "/approve"),
			"diff": link(prAPI + "/diff"), "comments": link(prAPI + "/comments"),
			"activity": link(prAPI + "/activity"), "statuses": link(prAPI + "/statuses"),
			"merge": link(prAPI + "/merge"), "decline": link(prAPI + "/decline"),
			"diffstat": link(prAPI + "/diffstat"), "request-changes": link(prAPI + "/request-changes"),
		},
	}
	payload["pullrequest"] = prJSON
	switch ev.Event {
	case "pullrequest:approved", "pullrequest:unapproved":
		payload["approval"] = map[string]any{"date": rfc3339(now), "user": actorJSON}
	case "pullrequest:comment_created":
		text := ev.Comment
		if text == "" {
			text = "Looks good."
		}
		id := int(now.UnixNano() % 1_000_000_000)
		payload["comment"] = map[string]any{
			"type": "pullrequest_comment", "id": id, "deleted": false, "content": rendered(text),
			"created_on": rfc3339(now), "updated_on": rfc3339(now), "user": actorJSON,
			"pullrequest": map[string]any{"type": "pullrequest", "id": p.ID, "title": p.Title, "links": map[string]any{"self": link(prAPI), "html": link(fmt.Sprintf("%s/pull-requests/%d", html, p.ID))}},
			"links": map[string]any{
				"self": link(fmt.Sprintf("%s/comments/%d", prAPI, id)),
				"html": link(fmt.Sprintf("%s/pull-requests/%d/_/diff#comment-%d", html, p.ID, id)),
			},
		}
	}
	return payload, targets, nil
}

// eventPullRequest checks the pull request of a pull request event and fills in what
// the event left out.
func eventPullRequest(ev Event, mainBranch string) (PullRequest, error) {
	pr := ev.PullRequest
	if pr == nil {
		return PullRequest{}, fmt.Errorf("pull_request: required for %s", ev.Event)
	}
	if pr.ID <= 0 {
		return PullRequest{}, fmt.Errorf("pull_request.id: a positive number is required")
	}
	return fillPR(*pr, mainBranch), nil
}

func fillPR(p PullRequest, mainBranch string) PullRequest {
	if p.Title == "" {
		p.Title = fmt.Sprintf("Pull request #%d", p.ID)
	}
	if p.SourceBranch == "" {
		p.SourceBranch = fmt.Sprintf("feature/%d", p.ID)
	}
	if p.DestinationBranch == "" {
		p.DestinationBranch = mainBranch
	}
	if p.SourceCommit == "" {
		p.SourceCommit = randomHex(20)
	}
	if p.DestinationCommit == "" {
		p.DestinationCommit = randomHex(20)
	}
	return p
}

// shortHash is the 12-character hash Bitbucket Cloud puts in pull request payloads.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func rendered(raw string) map[string]any {
	return map[string]any{"type": "rendered", "raw": raw, "markup": "markdown", "html": "<p>" + htmlEscape(raw) + "</p>"}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// cloudActorJSON is a user as webhook payloads show it: no username (Bitbucket
// removed it from user objects), links with the percent-encoded UUID (%7B…%7D).
func cloudActorJSON(base string, u *CloudUser) map[string]any {
	return map[string]any{
		"type": "user", "uuid": u.UUID, "account_id": u.AccountID, "display_name": u.DisplayName,
		"nickname": u.Nickname,
		"links": map[string]any{
			"self":   link(base + "/2.0/users/" + url.PathEscape(u.UUID)),
			"html":   link(base + "/" + url.PathEscape(u.UUID) + "/"),
			"avatar": link(base + "/account/" + url.PathEscape(u.Nickname) + "/avatar/32/"),
		},
	}
}

func cloudCommitJSON(api, html string, c Commit, parent string, actor map[string]any, authorRaw string, at time.Time) map[string]any {
	message := c.Message
	if message != "" && !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	parents := []any{}
	if parent != "" {
		parents = append(parents, map[string]any{"type": "commit", "hash": parent,
			"links": map[string]any{"self": link(api + "/commit/" + parent), "html": link(html + "/commits/" + parent)}})
	}
	return map[string]any{
		"type": "commit", "hash": c.Hash, "message": message, "summary": rendered(message),
		"date": at.Format("2006-01-02T15:04:05+00:00"), "parents": parents,
		"author": map[string]any{"type": "author", "raw": authorRaw, "user": actor},
		"links": map[string]any{
			"self": link(api + "/commit/" + c.Hash), "html": link(html + "/commits/" + c.Hash),
			"diff": link(api + "/diff/" + c.Hash), "patch": link(api + "/patch/" + c.Hash),
			"comments": link(api + "/commit/" + c.Hash + "/comments"),
			"approve":  link(api + "/commit/" + c.Hash + "/approve"),
			"statuses": link(api + "/commit/" + c.Hash + "/statuses"),
		},
	}
}

// ---- Data Center payloads ----

func (s *Server) prepareDC(base string, ev Event) (any, []target, error) {
	key := strings.ToUpper(ev.Project)
	repo := s.state.dcRepos[key+"/"+ev.Repository]
	if repo == nil {
		return nil, nil, fmt.Errorf("repository: no Data Center repository %s/%s", ev.Project, ev.Repository)
	}
	actorName := ev.Actor
	if actorName == "" {
		actorName = s.state.firstDC
	}
	actor := s.state.dcUsers[actorName]
	if actor == nil {
		return nil, nil, fmt.Errorf("actor: no Data Center user %q", ev.Actor)
	}
	var targets []target
	for _, h := range repo.hooks {
		t := target{hookID: fmt.Sprint(h.ID), url: h.URL, secret: h.secret(), insecure: !h.SSLVerify}
		if ev.Hook != "" {
			if t.hookID == ev.Hook {
				targets = append(targets, t)
			}
			continue
		}
		if h.Active && (slices.Contains(h.Events, ev.Event) || ev.Event == "diagnostics:ping") {
			targets = append(targets, t)
		}
	}
	if ev.Hook != "" && len(targets) == 0 {
		return nil, nil, fmt.Errorf("hook: no webhook %s on %s/%s", ev.Hook, ev.Project, ev.Repository)
	}
	if ev.Event == "diagnostics:ping" {
		return map[string]any{"test": true}, targets, nil
	}
	now := time.Now().UTC()
	actorJSON := map[string]any{
		"name": actor.Name, "emailAddress": actor.Email, "id": actor.ID, "displayName": actor.DisplayName,
		"active": true, "slug": actor.Name, "type": "NORMAL",
		"links": map[string]any{"self": []any{map[string]any{"href": base + "/users/" + actor.Name}}},
	}
	repoJSON := s.dcRepoJSON(base, repo)
	payload := map[string]any{"eventKey": ev.Event, "date": now.Format("2006-01-02T15:04:05-0700"), "actor": actorJSON}

	if ev.Event == "repo:refs_changed" {
		branch := ev.Branch
		if branch == "" {
			branch = repo.DefaultBranch
		}
		commits := ev.Commits
		if len(commits) == 0 {
			commits = []Commit{{Hash: randomHex(20), Message: "Update " + repo.Slug}}
		}
		head := commits[len(commits)-1].Hash
		from, changeType := ev.OldHash, "UPDATE"
		if from == "" {
			from, changeType = strings.Repeat("0", 40), "ADD"
		}
		payload["repository"] = repoJSON
		payload["changes"] = []any{map[string]any{
			"ref":   map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "type": "BRANCH"},
			"refId": "refs/heads/" + branch, "fromHash": from, "toHash": head, "type": changeType,
		}}
		return payload, targets, nil
	}

	p, err := eventPullRequest(ev, repo.DefaultBranch)
	if err != nil {
		return nil, nil, err
	}
	created := now.Add(-time.Minute).UnixMilli()
	state, closed := "OPEN", false
	switch ev.Event {
	case "pr:merged":
		state, closed = "MERGED", true
	case "pr:declined":
		state, closed = "DECLINED", true
	}
	ref := func(branch, hash string) map[string]any {
		return map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "latestCommit": hash, "type": "BRANCH", "repository": repoJSON}
	}
	author := map[string]any{"user": actorJSON, "role": "AUTHOR", "approved": false, "status": "UNAPPROVED"}
	prJSON := map[string]any{
		"id": p.ID, "version": 0, "title": p.Title, "description": p.Description,
		"state": state, "open": !closed, "closed": closed,
		"createdDate": created, "updatedDate": now.UnixMilli(),
		"fromRef": ref(p.SourceBranch, p.SourceCommit), "toRef": ref(p.DestinationBranch, p.DestinationCommit),
		"locked": false, "author": author, "reviewers": []any{}, "participants": []any{},
		"links": map[string]any{"self": []any{map[string]any{"href": fmt.Sprintf("%s/projects/%s/repos/%s/pull-requests/%d", base, repo.Project, repo.Slug, p.ID)}}},
	}
	if closed {
		prJSON["closedDate"] = now.UnixMilli()
	}
	payload["pullRequest"] = prJSON
	switch ev.Event {
	case "pr:from_ref_updated":
		prev := p.PreviousSourceCommit
		if prev == "" {
			prev = randomHex(20)
		}
		payload["previousFromHash"] = prev
	case "pr:modified":
		title, description := p.Title, p.Description
		if p.PreviousTitle != nil {
			title = *p.PreviousTitle
		}
		if p.PreviousDescription != nil {
			description = *p.PreviousDescription
		}
		targetBranch, targetCommit := p.DestinationBranch, p.DestinationCommit
		if p.PreviousDestinationBranch != "" {
			targetBranch = p.PreviousDestinationBranch
			targetCommit = p.PreviousDestinationCommit
			if targetCommit == "" {
				targetCommit = randomHex(20)
			}
		}
		payload["previousTitle"] = title
		payload["previousDescription"] = description
		payload["previousTarget"] = map[string]any{"id": "refs/heads/" + targetBranch, "displayId": targetBranch, "type": "BRANCH", "latestCommit": targetCommit, "latestChangeset": targetCommit}
	case "pr:reviewer:approved", "pr:reviewer:unapproved":
		approved := ev.Event == "pr:reviewer:approved"
		status, previous := "APPROVED", "UNAPPROVED"
		if !approved {
			status, previous = "UNAPPROVED", "APPROVED"
		}
		participant := map[string]any{"user": actorJSON, "role": "REVIEWER", "approved": approved, "status": status, "lastReviewedCommit": p.SourceCommit}
		payload["participant"] = participant
		payload["previousStatus"] = previous
		prJSON["reviewers"] = []any{participant}
	case "pr:merged":
		merge := randomHex(20)
		prJSON["properties"] = map[string]any{"mergeCommit": map[string]any{"id": merge, "displayId": merge[:11]}}
	case "pr:comment:added":
		text := ev.Comment
		if text == "" {
			text = "Looks good."
		}
		payload["comment"] = map[string]any{
			"properties": map[string]any{"repositoryId": repo.ID}, "id": int(now.UnixNano() % 1_000_000),
			"version": 0, "text": text, "author": actorJSON, "createdDate": now.UnixMilli(),
			"updatedDate": now.UnixMilli(), "comments": []any{}, "tasks": []any{},
			"severity": "NORMAL", "state": "OPEN",
		}
	}
	return payload, targets, nil
}
