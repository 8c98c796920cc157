package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bitbucket Data Center REST subset under /rest.

const (
	dcDefaultLimit = 25
	dcMaxLimit     = 1000

	excAuthentication = "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"
	excAuthorisation  = "com.atlassian.bitbucket.AuthorisationException"
	excNoProject      = "com.atlassian.bitbucket.project.NoSuchProjectException"
	excNoRepository   = "com.atlassian.bitbucket.repository.NoSuchRepositoryException"
	excNoWebhook      = "com.atlassian.bitbucket.webhook.NoSuchWebhookException"
	excNoBuildStatus  = "com.atlassian.bitbucket.build.status.NoSuchBuildStatusException"
	excValidation     = "com.atlassian.bitbucket.validation.ArgumentValidationException"
)

// dcHookEvents are the event keys Data Center 9.x accepts on a repository webhook.
var dcHookEvents = []string{
	"repo:refs_changed", "repo:modified", "repo:forked", "repo:comment:added",
	"repo:comment:edited", "repo:comment:deleted", "repo:secret_detected",
	"mirror:repo_synchronized", "pr:opened", "pr:from_ref_updated", "pr:to_ref_updated",
	"pr:modified", "pr:reviewer:updated", "pr:reviewer:approved", "pr:reviewer:unapproved",
	"pr:reviewer:needs_work", "pr:reviewer:changes_requested", "pr:merged", "pr:declined",
	"pr:deleted", "pr:comment:added", "pr:comment:edited", "pr:comment:deleted",
	"build:status_updated",
}

var dcStatusStates = []string{"INPROGRESS", "SUCCESSFUL", "FAILED", "CANCELLED", "UNKNOWN"}

func (s *Server) registerDataCenter(mux *http.ServeMux) {
	for _, v := range []string{"latest", "1.0"} {
		api := "/rest/api/" + v
		repo := api + "/projects/{projectKey}/repos/{repositorySlug}"
		mux.HandleFunc("GET "+api+"/projects", s.dcAuth(s.dcListProjects))
		mux.HandleFunc("GET "+api+"/projects/{projectKey}", s.dcAuth(s.dcGetProject))
		mux.HandleFunc("GET "+api+"/projects/{projectKey}/repos", s.dcAuth(s.dcListRepos))
		mux.HandleFunc("GET "+repo, s.dcAuth(s.dcGetRepo))
		mux.HandleFunc("GET "+repo+"/default-branch", s.dcAuth(s.dcGetDefaultBranch))
		mux.HandleFunc("GET "+repo+"/webhooks", s.dcAuth(s.dcListHooks))
		mux.HandleFunc("POST "+repo+"/webhooks", s.dcAuth(s.dcCreateHook))
		mux.HandleFunc("POST "+repo+"/webhooks/test", s.dcAuth(s.dcTestHook))
		mux.HandleFunc("GET "+repo+"/webhooks/{webhookId}", s.dcAuth(s.dcGetHook))
		mux.HandleFunc("PUT "+repo+"/webhooks/{webhookId}", s.dcAuth(s.dcUpdateHook))
		mux.HandleFunc("DELETE "+repo+"/webhooks/{webhookId}", s.dcAuth(s.dcDeleteHook))
		mux.HandleFunc("POST "+repo+"/commits/{commitId}/builds", s.dcAuth(s.dcPostStatus))
		mux.HandleFunc("GET "+repo+"/commits/{commitId}/builds", s.dcAuth(s.dcGetStatus))
		mux.HandleFunc("GET /rest/build-status/"+v+"/commits/{commitId}", s.dcAuth(s.dcListCommitStatuses))
		// Deprecated since 7.14 but still served by Data Center (Atlassian's description
		// documents it), since older build tools post there.
		mux.HandleFunc("POST /rest/build-status/"+v+"/commits/{commitId}", s.dcAuth(s.dcPostLegacyStatus))
	}
	mux.HandleFunc("/rest/", func(w http.ResponseWriter, r *http.Request) {
		dcError(w, http.StatusNotFound, "com.sun.jersey.api.NotFoundException", "null for uri: "+r.URL.Path)
	})
}

// dcError writes Data Center's error body; exceptionName is omitted when empty.
func dcError(w http.ResponseWriter, status int, exceptionName, message string) {
	e := map[string]any{"context": nil, "message": message, "exceptionName": nil}
	if exceptionName != "" {
		e["exceptionName"] = exceptionName
	}
	writeJSON(w, status, map[string]any{"errors": []any{e}})
}

func dcFieldError(w http.ResponseWriter, field, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{
		map[string]any{"context": field, "message": message, "exceptionName": nil},
	}})
}

type dcHandler func(w http.ResponseWriter, r *http.Request, tok dcToken)

func (s *Server) dcAuth(h dcHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		const prefix = "Bearer "
		var tok dcToken
		found := false
		lookup := func(given string) {
			s.mu.Lock()
			for candidate, t := range s.state.dcTokens {
				if subtle.ConstantTimeCompare([]byte(candidate), []byte(given)) == 1 {
					tok, found = t, true
				}
			}
			s.mu.Unlock()
		}
		if len(authz) > len(prefix) && strings.EqualFold(authz[:len(prefix)], prefix) {
			lookup(strings.TrimSpace(authz[len(prefix):]))
		} else if user, password, ok := r.BasicAuth(); ok {
			// A personal (user) token also works as the password of Basic auth, with its
			// owner's name; project and repository tokens are Bearer only.
			lookup(password)
			if found && (tok.project != "" || tok.repository != "" || tok.user == nil || tok.user.Name != user) {
				tok, found = dcToken{}, false
			}
		}
		if !found {
			dcError(w, http.StatusUnauthorized, excAuthentication, "Authentication failed. Please check your credentials and try again.")
			return
		}
		h(w, r, tok)
	}
}

// level is what tok may do on a repository (slug != "") or on a project (slug == "").
func (tok dcToken) level(projectKey, slug string) int {
	switch tok.permission {
	case "ADMIN", "SYS_ADMIN":
		return levelAdmin
	}
	if tok.project != "" && tok.project != projectKey {
		return levelNone
	}
	if tok.repository != "" && slug != "" && tok.repository != slug {
		return levelNone
	}
	kind, lvl, _ := strings.Cut(tok.permission, "_")
	l := map[string]int{"READ": levelRead, "WRITE": levelWrite, "ADMIN": levelAdmin}[lvl]
	if slug == "" && kind == "REPO" {
		return levelRead // a repository permission lets you see its project
	}
	return l
}

func dcPermissionName(level int) string {
	return map[int]string{levelRead: "REPO_READ", levelWrite: "REPO_WRITE", levelAdmin: "REPO_ADMIN"}[level]
}

// dcRepoFor finds the repository and checks tok's level; it writes the error on failure.
func (s *Server) dcRepoFor(w http.ResponseWriter, r *http.Request, tok dcToken, need int) *dcRepo {
	key, slug := strings.ToUpper(r.PathValue("projectKey")), r.PathValue("repositorySlug")
	s.mu.Lock()
	project := s.state.dcProjects[key]
	repo := s.state.dcRepos[key+"/"+slug]
	s.mu.Unlock()
	if project == nil || (tok.level(key, "") == levelNone && tok.level(key, slug) == levelNone) {
		dcError(w, http.StatusNotFound, excNoProject, "Project "+r.PathValue("projectKey")+" does not exist.")
		return nil
	}
	if repo == nil || tok.level(key, slug) == levelNone {
		dcError(w, http.StatusNotFound, excNoRepository, "Repository "+key+"/"+slug+" does not exist.")
		return nil
	}
	if tok.level(key, slug) < need {
		dcError(w, http.StatusUnauthorized, excAuthorisation,
			fmt.Sprintf("You are not permitted to access this resource (%s is required on %s/%s).", dcPermissionName(need), key, slug))
		return nil
	}
	return repo
}

// dcPage writes a Data Center page of items per start/limit.
func dcPage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	start, limit := 0, dcDefaultLimit
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			dcFieldError(w, "start", "start must be a non-negative integer")
			return
		}
		start = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			dcFieldError(w, "limit", "limit must be a positive integer")
			return
		}
		limit = min(n, dcMaxLimit)
	}
	from := min(start, len(items))
	to := min(from+limit, len(items))
	values := items[from:to]
	if values == nil {
		values = []any{}
	}
	body := map[string]any{
		"size": len(values), "limit": limit, "start": start,
		"isLastPage": to >= len(items), "values": values,
	}
	if to < len(items) {
		body["nextPageStart"] = to
	}
	writeJSON(w, http.StatusOK, body)
}

func dcLinks(href string) map[string]any {
	return map[string]any{"self": []any{map[string]any{"href": href}}}
}

func (s *Server) dcProjectJSON(base string, p *dcProject) map[string]any {
	out := map[string]any{
		"key": p.Key, "id": p.ID, "name": p.Name, "public": false, "type": "NORMAL",
		"links": dcLinks(base + "/projects/" + p.Key),
	}
	if p.Description != "" {
		out["description"] = p.Description
	}
	return out
}

// dcRepoJSON renders a repository; callers hold s.mu.
func (s *Server) dcRepoJSON(base string, repo *dcRepo) map[string]any {
	project := s.state.dcProjects[repo.Project]
	lower := strings.ToLower(repo.Project)
	return map[string]any{
		"slug": repo.Slug, "id": repo.ID, "name": repo.Name,
		"hierarchyId": uuidFrom("repo:" + repo.Project + "/" + repo.Slug)[:20],
		"scmId":       "git", "state": "AVAILABLE", "statusMessage": "Available",
		"forkable": true, "public": false, "archived": false,
		"project": s.dcProjectJSON(base, project),
		"links": map[string]any{
			"clone": []any{
				map[string]any{"href": base + "/scm/" + lower + "/" + repo.Slug + ".git", "name": "http"},
			},
			"self": []any{map[string]any{"href": base + "/projects/" + repo.Project + "/repos/" + repo.Slug + "/browse"}},
		},
	}
}

func (s *Server) dcListProjects(w http.ResponseWriter, r *http.Request, tok dcToken) {
	name := strings.ToLower(r.URL.Query().Get("name"))
	s.mu.Lock()
	var projects []*dcProject
	for key, p := range s.state.dcProjects {
		visible := tok.level(key, "") > levelNone
		if name != "" && !strings.Contains(strings.ToLower(p.Name), name) {
			continue
		}
		if visible {
			projects = append(projects, p)
		}
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i].Key < projects[j].Key })
	base := s.baseURL(r)
	items := make([]any, 0, len(projects))
	for _, p := range projects {
		items = append(items, s.dcProjectJSON(base, p))
	}
	s.mu.Unlock()
	dcPage(w, r, items)
}

func (s *Server) dcGetProject(w http.ResponseWriter, r *http.Request, tok dcToken) {
	key := strings.ToUpper(r.PathValue("projectKey"))
	s.mu.Lock()
	p := s.state.dcProjects[key]
	var body map[string]any
	if p != nil {
		body = s.dcProjectJSON(s.baseURL(r), p)
	}
	s.mu.Unlock()
	if p == nil || tok.level(key, "") == levelNone {
		dcError(w, http.StatusNotFound, excNoProject, "Project "+r.PathValue("projectKey")+" does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dcListRepos(w http.ResponseWriter, r *http.Request, tok dcToken) {
	key := strings.ToUpper(r.PathValue("projectKey"))
	s.mu.Lock()
	p := s.state.dcProjects[key]
	var repos []*dcRepo
	for _, repo := range s.state.dcRepos {
		if repo.Project == key && tok.level(key, repo.Slug) > levelNone {
			repos = append(repos, repo)
		}
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].Slug < repos[j].Slug })
	base := s.baseURL(r)
	items := make([]any, 0, len(repos))
	for _, repo := range repos {
		items = append(items, s.dcRepoJSON(base, repo))
	}
	s.mu.Unlock()
	if p == nil || tok.level(key, "") == levelNone {
		dcError(w, http.StatusNotFound, excNoProject, "Project "+r.PathValue("projectKey")+" does not exist.")
		return
	}
	dcPage(w, r, items)
}

func (s *Server) dcGetRepo(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	s.mu.Lock()
	body := s.dcRepoJSON(s.baseURL(r), repo)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// dcGetDefaultBranch answers GET .../default-branch with a RestMinimalRef (REPO_READ).
// Every sandbox repository has a default branch (seeding fills in "main"); Data Center
// answers 404 for an empty repository's, which the sandbox does not model.
func (s *Server) dcGetDefaultBranch(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	s.mu.Lock()
	branch := repo.DefaultBranch
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "type": "BRANCH"})
}

// ---- webhooks ----

func dcHookJSON(h *dcHook) map[string]any {
	config := map[string]any{}
	for k, v := range h.Configuration {
		if k == "secret" { // write-only on current servers
			continue
		}
		config[k] = v
	}
	events := append([]string{}, h.Events...)
	sort.Strings(events)
	return map[string]any{
		"id": h.ID, "name": h.Name, "url": h.URL, "events": events, "active": h.Active,
		"configuration": config, "scopeType": "repository",
		"sslVerificationRequired": h.SSLVerify,
		"createdDate":             h.Created.UnixMilli(), "updatedDate": h.Updated.UnixMilli(),
	}
}

func (s *Server) dcListHooks(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	event := r.URL.Query().Get("event")
	s.mu.Lock()
	items := []any{}
	for _, h := range repo.hooks {
		if event != "" && !slices.Contains(h.Events, event) {
			continue
		}
		items = append(items, dcHookJSON(h))
	}
	s.mu.Unlock()
	dcPage(w, r, items)
}

// applyDCHook validates the body onto h. On create name, url and events are required;
// on update absent fields are kept and a present `configuration` replaces the old one.
func applyDCHook(h *dcHook, f hookFields, create bool) (field, msg string) {
	if create || f.has("name") {
		var name string
		if err := f.decode("name", &name); err != nil || strings.TrimSpace(name) == "" {
			return "name", "A webhook name is required."
		}
		if len(name) > 255 {
			return "name", "The webhook name must be 255 characters or less."
		}
		h.Name = name
	}
	if create || f.has("url") {
		var u string
		if err := f.decode("url", &u); err != nil || u == "" {
			return "url", "A webhook URL is required."
		}
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return "url", "The webhook URL is not a valid http or https URL."
		}
		h.URL = u
	}
	if create || f.has("events") {
		var events []string
		if err := f.decode("events", &events); err != nil || len(events) == 0 {
			return "events", "At least one event must be selected."
		}
		for _, e := range events {
			if !slices.Contains(dcHookEvents, e) {
				return "events", fmt.Sprintf("%q is not a valid webhook event.", e)
			}
		}
		slices.Sort(events)
		h.Events = slices.Compact(events)
	}
	if f.has("active") && !f.isNull("active") {
		if err := f.decode("active", &h.Active); err != nil {
			return "active", "active must be a boolean."
		}
	}
	if f.has("sslVerificationRequired") && !f.isNull("sslVerificationRequired") {
		if err := f.decode("sslVerificationRequired", &h.SSLVerify); err != nil {
			return "sslVerificationRequired", "sslVerificationRequired must be a boolean."
		}
	}
	if f.has("configuration") {
		config := map[string]string{}
		if !f.isNull("configuration") {
			var raw map[string]any
			if err := f.decode("configuration", &raw); err != nil {
				return "configuration", "configuration must be an object of strings."
			}
			for k, v := range raw {
				sv, ok := v.(string)
				if !ok {
					return "configuration." + k, "configuration values must be strings."
				}
				if sv != "" {
					config[k] = sv
				}
			}
		}
		h.Configuration = config
	}
	return "", ""
}

// dcAdminRepoAndBody resolves the repository of a webhook write (REPO_ADMIN) and
// decodes its JSON object body; when either fails it has answered and ok is false.
func (s *Server) dcAdminRepoAndBody(w http.ResponseWriter, r *http.Request, tok dcToken) (repo *dcRepo, f hookFields, ok bool) {
	repo = s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return nil, hookFields{}, false
	}
	f, err := decodeFields(r)
	if err != nil {
		dcError(w, http.StatusBadRequest, excValidation, "The request body is not a JSON object.")
		return nil, hookFields{}, false
	}
	return repo, f, true
}

func (s *Server) dcCreateHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo, f, ok := s.dcAdminRepoAndBody(w, r, tok)
	if !ok {
		return
	}
	now := time.Now().UTC()
	h := &dcHook{Active: true, SSLVerify: true, Configuration: map[string]string{}, Created: now, Updated: now}
	if field, msg := applyDCHook(h, f, true); field != "" {
		dcFieldError(w, field, msg)
		return
	}
	s.mu.Lock()
	h.ID = s.state.nextHookID
	s.state.nextHookID++
	repo.hooks = append(repo.hooks, h)
	body := dcHookJSON(h)
	s.mu.Unlock()
	// Data Center answers a create with 200, not 201.
	writeJSON(w, http.StatusOK, body)
}

func findDCHook(repo *dcRepo, idText string) (int, *dcHook) {
	id, err := strconv.Atoi(idText)
	if err != nil {
		return -1, nil
	}
	for i, h := range repo.hooks {
		if h.ID == id {
			return i, h
		}
	}
	return -1, nil
}

func dcHookNotFound(w http.ResponseWriter, id string) {
	dcError(w, http.StatusNotFound, excNoWebhook, "Webhook "+id+" does not exist.")
}

func (s *Server) dcGetHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	s.mu.Lock()
	_, h := findDCHook(repo, r.PathValue("webhookId"))
	var body map[string]any
	if h != nil {
		body = dcHookJSON(h)
	}
	s.mu.Unlock()
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dcUpdateHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo, f, ok := s.dcAdminRepoAndBody(w, r, tok)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, h := findDCHook(repo, r.PathValue("webhookId"))
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	updated := *h
	if field, msg := applyDCHook(&updated, f, false); field != "" {
		dcFieldError(w, field, msg)
		return
	}
	updated.Updated = time.Now().UTC()
	*h = updated
	writeJSON(w, http.StatusOK, dcHookJSON(h))
}

func (s *Server) dcDeleteHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	s.mu.Lock()
	i, h := findDCHook(repo, r.PathValue("webhookId"))
	if h != nil {
		repo.hooks = slices.Delete(repo.hooks, i, i+1)
	}
	s.mu.Unlock()
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dcTestHook is "Test connection": it sends an unsigned diagnostics:ping to ?url= (or
// to the hook named by ?webhookId=) and reports what came back.
func (s *Server) dcTestHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	target := r.URL.Query().Get("url")
	hookID := ""
	if id := r.URL.Query().Get("webhookId"); id != "" {
		s.mu.Lock()
		_, h := findDCHook(repo, id)
		if h != nil && target == "" {
			target = h.URL
		}
		s.mu.Unlock()
		if h == nil {
			dcHookNotFound(w, id)
			return
		}
		hookID = id
	}
	if target == "" {
		dcFieldError(w, "url", "A URL to test is required.")
		return
	}
	d := s.deliverDCPing(r.Context(), hookID, target)
	reqHeaders := map[string]any{}
	for k, v := range d.RequestHeaders {
		reqHeaders[k] = v
	}
	body := map[string]any{
		"request": map[string]any{"url": target, "method": "POST", "headers": reqHeaders, "body": d.RequestBody},
	}
	if d.Error != "" {
		body["exception"] = map[string]any{"message": d.Error}
	} else {
		body["response"] = map[string]any{"statusCode": d.Status, "headers": map[string]any{}, "body": d.ResponseBody}
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- build statuses ----

func dcStatusJSON(st *dcStatus) map[string]any {
	out := map[string]any{
		"key": st.Key, "state": st.State, "url": st.URL,
		"createdDate": st.Created.UnixMilli(), "updatedDate": st.Updated.UnixMilli(),
	}
	for k, v := range map[string]string{"name": st.Name, "description": st.Description, "ref": st.Ref, "buildNumber": st.BuildNumber, "parent": st.Parent} {
		if v != "" {
			out[k] = v
		}
	}
	if st.Duration != nil {
		out["duration"] = *st.Duration
	}
	return out
}

func (s *Server) dcPostStatus(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	var body struct {
		Key         string `json:"key"`
		State       string `json:"state"`
		URL         string `json:"url"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Ref         string `json:"ref"`
		BuildNumber string `json:"buildNumber"`
		Parent      string `json:"parent"`
		Duration    *int64 `json:"duration"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&body); err != nil {
		dcError(w, http.StatusBadRequest, excValidation, "The request body is not a valid build status.")
		return
	}
	switch {
	case body.Key == "":
		dcFieldError(w, "key", "A build status key is required.")
		return
	case len(body.Key) > 255:
		dcFieldError(w, "key", "The key must be 255 characters or less.")
		return
	case !slices.Contains(dcStatusStates, body.State):
		dcFieldError(w, "state", "state must be one of CANCELLED, FAILED, INPROGRESS, SUCCESSFUL, UNKNOWN.")
		return
	case body.URL == "":
		dcFieldError(w, "url", "A build URL is required.")
		return
	case len(body.URL) > 450:
		dcFieldError(w, "url", "The url must be 450 characters or less.")
		return
	case body.Ref != "" && !strings.HasPrefix(body.Ref, "refs/"):
		dcFieldError(w, "ref", "ref must be a fully qualified ref, starting with refs/.")
		return
	}
	commit := r.PathValue("commitId")
	now := time.Now().UTC()
	s.mu.Lock()
	var st *dcStatus
	for _, existing := range repo.statuses[commit] {
		if existing.Key == body.Key {
			st = existing
		}
	}
	if st == nil {
		st = &dcStatus{Key: body.Key, Created: now, repo: repo}
		repo.statuses[commit] = append(repo.statuses[commit], st)
	}
	st.State, st.URL, st.Name, st.Description = body.State, body.URL, body.Name, body.Description
	st.Ref, st.BuildNumber, st.Parent, st.Duration, st.Updated = body.Ref, body.BuildNumber, body.Parent, body.Duration, now
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) dcGetStatus(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	key := r.URL.Query().Get("key")
	if key == "" {
		dcFieldError(w, "key", "The key query parameter is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range repo.statuses[r.PathValue("commitId")] {
		if st.Key == key {
			writeJSON(w, http.StatusOK, dcStatusJSON(st))
			return
		}
	}
	dcError(w, http.StatusNotFound, excNoBuildStatus, "No build status with key "+key+" exists for this commit.")
}

// dcListCommitStatuses serves the build-status plugin's per-commit list across every
// repository the token can read.
func (s *Server) dcListCommitStatuses(w http.ResponseWriter, r *http.Request, tok dcToken) {
	commit := r.PathValue("commitId")
	s.mu.Lock()
	var all []*dcStatus
	for _, repo := range s.state.dcRepos {
		if tok.level(repo.Project, repo.Slug) < levelRead {
			continue
		}
		all = append(all, repo.statuses[commit]...)
	}
	all = append(all, s.state.dcLegacyStatuses[commit]...)
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if !all[i].Updated.Equal(all[j].Updated) {
			return all[i].Updated.After(all[j].Updated)
		}
		return all[i].Key < all[j].Key
	})
	items := make([]any, 0, len(all))
	s.mu.Lock()
	for _, st := range all {
		items = append(items, dcStatusJSON(st))
	}
	s.mu.Unlock()
	dcPage(w, r, items)
}

// dcPostLegacyStatus serves the deprecated POST /rest/build-status/1.0/commits/{id}:
// state, key and url are required; only SUCCESSFUL, FAILED and INPROGRESS exist there;
// fields are limited to 255 characters, url to 450 (Atlassian's description). Any
// authenticated user may post; the status belongs to the commit, not a repository.
func (s *Server) dcPostLegacyStatus(w http.ResponseWriter, r *http.Request, tok dcToken) {
	var body struct {
		State       string `json:"state"`
		Key         string `json:"key"`
		Name        string `json:"name"`
		URL         string `json:"url"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&body); err != nil {
		dcError(w, http.StatusBadRequest, excValidation, "The request body is not a valid build status.")
		return
	}
	switch {
	case body.Key == "" || len(body.Key) > 255:
		dcFieldError(w, "key", "A build status key of at most 255 characters is required.")
		return
	case !slices.Contains([]string{"SUCCESSFUL", "FAILED", "INPROGRESS"}, body.State):
		dcFieldError(w, "state", "state must be one of SUCCESSFUL, FAILED, INPROGRESS.")
		return
	case body.URL == "" || len(body.URL) > 450:
		dcFieldError(w, "url", "A build URL of at most 450 characters is required.")
		return
	case len(body.Name) > 255 || len(body.Description) > 255:
		dcFieldError(w, "name", "name and description must be 255 characters or less.")
		return
	}
	commit := r.PathValue("commitId")
	now := time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st *dcStatus
	for _, existing := range s.state.dcLegacyStatuses[commit] {
		if existing.Key == body.Key {
			st = existing
		}
	}
	if st == nil {
		st = &dcStatus{Key: body.Key, Created: now}
		s.state.dcLegacyStatuses[commit] = append(s.state.dcLegacyStatuses[commit], st)
	}
	st.State, st.URL, st.Name, st.Description, st.Updated = body.State, body.URL, body.Name, body.Description, now
	w.WriteHeader(http.StatusNoContent)
}
