package sandbox

// Bitbucket Cloud REST 2.0 subset under /2.0.

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	cloudDefaultPagelen = 10
	cloudMaxPagelen     = 100
	cloudMaxStatusKey   = 40

	appPasswordMessage = "Bitbucket app passwords are no longer supported. Use an API token with your Atlassian account email instead."
)

// cloudHookEvents is the event list the Cloud description allows on a repository hook.
var cloudHookEvents = []string{
	"issue:comment_created", "issue:created", "issue:updated", "pipeline:span_created",
	"project:updated", "pullrequest:approved", "pullrequest:changes_request_created",
	"pullrequest:changes_request_removed", "pullrequest:comment_created",
	"pullrequest:comment_deleted", "pullrequest:comment_reopened", "pullrequest:comment_resolved",
	"pullrequest:comment_updated", "pullrequest:created", "pullrequest:fulfilled",
	"pullrequest:push", "pullrequest:rejected", "pullrequest:unapproved", "pullrequest:updated",
	"repo:commit_comment_created", "repo:commit_status_created", "repo:commit_status_updated",
	"repo:created", "repo:deleted", "repo:fork", "repo:imported", "repo:push", "repo:transfer",
	"repo:updated",
}

var cloudStatusStates = []string{"INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"}

func (s *Server) registerCloud(mux *http.ServeMux) {
	mux.HandleFunc("GET /2.0/user", s.cloudAuth(levelRead, s.cloudGetUser))
	mux.HandleFunc("GET /2.0/user/emails", s.cloudAuth(levelRead, s.cloudListEmails))
	mux.HandleFunc("GET /2.0/user/workspaces", s.cloudAuth(levelRead, s.cloudListWorkspaceAccess))
	mux.HandleFunc("GET /2.0/user/permissions/workspaces", s.cloudAuth(levelRead, s.cloudListMemberships))
	mux.HandleFunc("GET /2.0/workspaces", s.cloudAuth(levelRead, s.cloudListWorkspaces))
	mux.HandleFunc("GET /2.0/workspaces/{workspace}", s.cloudAuth(levelRead, s.cloudGetWorkspace))
	mux.HandleFunc("GET /2.0/repositories/{workspace}", s.cloudAuth(levelRead, s.cloudListRepos))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}", s.cloudAuth(levelRead, s.cloudGetRepo))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/refs/branches", s.cloudAuth(levelRead, s.cloudListBranches))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/refs/branches/{name...}", s.cloudAuth(levelRead, s.cloudGetBranch))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/branching-model", s.cloudAuth(levelRead, s.cloudGetBranchingModel))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/diffstat/{spec}", s.cloudAuth(levelRead, s.cloudDiffstat))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/diffstat", s.cloudAuth(levelRead, s.cloudPullRequestDiffstat))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/hooks", s.cloudAuth(levelRead, s.cloudListHooks))
	mux.HandleFunc("POST /2.0/repositories/{workspace}/{repo_slug}/hooks", s.cloudAuth(levelAdmin, s.cloudCreateHook))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}", s.cloudAuth(levelRead, s.cloudGetHook))
	mux.HandleFunc("PUT /2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}", s.cloudAuth(levelAdmin, s.cloudUpdateHook))
	mux.HandleFunc("DELETE /2.0/repositories/{workspace}/{repo_slug}/hooks/{uid}", s.cloudAuth(levelAdmin, s.cloudDeleteHook))
	mux.HandleFunc("POST /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build", s.cloudAuth(levelWrite, s.cloudPostStatus))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build/{key}", s.cloudAuth(levelRead, s.cloudGetStatus))
	mux.HandleFunc("PUT /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build/{key}", s.cloudAuth(levelWrite, s.cloudPutStatus))
	mux.HandleFunc("GET /2.0/repositories/{workspace}/{repo_slug}/commit/{commit}/statuses", s.cloudAuth(levelRead, s.cloudListStatuses))
	mux.HandleFunc("/2.0/", func(w http.ResponseWriter, r *http.Request) {
		cloudError(w, http.StatusNotFound, "Resource not found", "There is no API hosted at this URL.")
	})
}

func cloudError(w http.ResponseWriter, status int, message, detail string) {
	body := map[string]any{"message": message}
	if detail != "" {
		body["detail"] = detail
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": body})
}

type cloudCaller struct {
	user  *CloudUser
	level int
}

type cloudHandler func(w http.ResponseWriter, r *http.Request, c cloudCaller)

// cloudAuth checks Basic email:api_token and the scope a route needs. Scope is checked
// after the resource is found (by the handler via requireLevel), as Bitbucket answers 404
// for a missing repository before it complains about scopes.
func (s *Server) cloudAuth(need int, h cloudHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		unauthorized := func(msg, detail string) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
			cloudError(w, http.StatusUnauthorized, msg, detail)
		}
		if !ok {
			unauthorized("Unauthorized", "This API requires authentication: Basic auth with your Atlassian account email and an API token.")
			return
		}
		s.mu.Lock()
		tok, found := s.state.cloudTokens[pass]
		isAppPassword := s.state.appPasswords[user+"\x00"+pass]
		s.mu.Unlock()
		if isAppPassword {
			unauthorized(appPasswordMessage, "App passwords were switched off on 2026-07-28. Create an API token and authenticate with your Atlassian account email as the username.")
			return
		}
		if !found || subtle.ConstantTimeCompare([]byte(strings.ToLower(user)), []byte(strings.ToLower(tok.user.Email))) != 1 {
			unauthorized("Invalid credentials", "Authenticate with your Atlassian account email and an API token.")
			return
		}
		c := cloudCaller(tok)
		if need > c.level && !routeNeedsRepo(r) {
			cloudScopeError(w, need)
			return
		}
		r = r.WithContext(withNeed(r.Context(), need))
		h(w, r, c)
	}
}

func routeNeedsRepo(r *http.Request) bool { return r.PathValue("repo_slug") != "" }

func cloudScopeError(w http.ResponseWriter, need int) {
	scope := map[int]string{levelRead: "read", levelWrite: "write", levelAdmin: "admin"}[need]
	detail := "The API token does not have the required scope."
	switch need {
	case levelAdmin:
		detail = "This request needs a token with the admin scope (webhook: write:webhook:bitbucket)."
	case levelWrite:
		detail = "This request needs a token with the write scope (write:repository:bitbucket)."
	}
	cloudError(w, http.StatusForbidden, "Your credentials lack one or more required privilege scopes: "+scope, detail)
}

// cloudRepoFor finds the repository and checks the caller may use it at the route's level.
// It writes the error and returns nil when the request cannot go on.
func (s *Server) cloudRepoFor(w http.ResponseWriter, r *http.Request, c cloudCaller) *cloudRepo {
	ws, slug := r.PathValue("workspace"), r.PathValue("repo_slug")
	s.mu.Lock()
	repo := s.findCloudRepo(ws, slug)
	s.mu.Unlock()
	if repo == nil {
		cloudError(w, http.StatusNotFound, "Repository "+ws+"/"+slug+" not found", "")
		return nil
	}
	if !c.canSeeWorkspace(repo.Workspace) {
		cloudError(w, http.StatusForbidden, "You do not have access to this repository.", "")
		return nil
	}
	if need := needFrom(r.Context()); need > c.level {
		cloudScopeError(w, need)
		return nil
	}
	return repo
}

// findCloudRepo accepts a slug or a {uuid}, as Bitbucket does; callers hold s.mu.
func (s *Server) findCloudRepo(ws, slugOrUUID string) *cloudRepo {
	if repo := s.state.cloudRepos[ws+"/"+slugOrUUID]; repo != nil {
		return repo
	}
	for _, repo := range s.state.cloudRepos {
		if repo.Workspace == ws && strings.EqualFold(repo.UUID, slugOrUUID) {
			return repo
		}
	}
	return nil
}

func (c cloudCaller) canSeeWorkspace(ws string) bool {
	return len(c.user.Workspaces) == 0 || slices.Contains(c.user.Workspaces, ws)
}

// cloudPage slices items per pagelen/page and writes the paginated envelope.
func (s *Server) cloudPage(w http.ResponseWriter, r *http.Request, items []any) {
	s.cloudPageSized(w, r, items, cloudDefaultPagelen, cloudMaxPagelen)
}

// cloudPageSized is cloudPage for collections with their own page sizes (diffstat).
func (s *Server) cloudPageSized(w http.ResponseWriter, r *http.Request, items []any, defaultLen, maxLen int) {
	q := r.URL.Query()
	pagelen := defaultLen
	if v := q.Get("pagelen"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			cloudError(w, http.StatusBadRequest, "Invalid pagelen", "pagelen must be a positive integer.")
			return
		}
		pagelen = min(n, maxLen)
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			cloudError(w, http.StatusBadRequest, "Invalid page", "page must be a positive integer.")
			return
		}
		page = n
	}
	start := min((page-1)*pagelen, len(items))
	end := min(start+pagelen, len(items))
	values := items[start:end]
	if values == nil {
		values = []any{}
	}
	body := map[string]any{"values": values, "pagelen": pagelen, "page": page, "size": len(items)}
	if end < len(items) {
		next := *r.URL
		nq := next.Query()
		nq.Set("pagelen", strconv.Itoa(pagelen))
		nq.Set("page", strconv.Itoa(page+1))
		body["next"] = s.baseURL(r) + next.EscapedPath() + "?" + nq.Encode()
	}
	if page > 1 && start > 0 {
		prev := *r.URL
		pq := prev.Query()
		pq.Set("pagelen", strconv.Itoa(pagelen))
		pq.Set("page", strconv.Itoa(page-1))
		body["previous"] = s.baseURL(r) + prev.EscapedPath() + "?" + pq.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

func link(href string) map[string]any { return map[string]any{"href": href} }

func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

func (s *Server) cloudUserJSON(r *http.Request, u *CloudUser) map[string]any {
	base := s.baseURL(r)
	return map[string]any{
		"type":            "user",
		"uuid":            u.UUID,
		"account_id":      u.AccountID,
		"display_name":    u.DisplayName,
		"nickname":        u.Nickname,
		"username":        u.Nickname,
		"account_status":  "active",
		"has_2fa_enabled": false,
		"is_staff":        false,
		"created_on":      rfc3339(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)),
		"links": map[string]any{
			"self":         link(base + "/2.0/users/" + url.PathEscape(u.UUID)),
			"html":         link(base + "/" + url.PathEscape(u.UUID) + "/"),
			"avatar":       link(base + "/account/" + url.PathEscape(u.Nickname) + "/avatar/32/"),
			"repositories": link(base + "/2.0/repositories/" + url.PathEscape(u.UUID)),
		},
	}
}

func (s *Server) cloudWorkspaceJSON(r *http.Request, ws *CloudWorkspace, created time.Time) map[string]any {
	base := s.baseURL(r)
	return map[string]any{
		"type":                "workspace",
		"uuid":                ws.UUID,
		"name":                ws.Name,
		"slug":                ws.Slug,
		"is_private":          true,
		"is_privacy_enforced": false,
		"forking_mode":        "allow_forks",
		"created_on":          rfc3339(created),
		"updated_on":          rfc3339(created),
		"links": map[string]any{
			"self":         link(base + "/2.0/workspaces/" + ws.Slug),
			"html":         link(base + "/" + ws.Slug + "/"),
			"avatar":       link(base + "/workspaces/" + ws.Slug + "/avatar/"),
			"members":      link(base + "/2.0/workspaces/" + ws.Slug + "/members"),
			"owners":       link(base + "/2.0/workspaces/" + ws.Slug + "/members?q=permission%3D%22owner%22"),
			"projects":     link(base + "/2.0/workspaces/" + ws.Slug + "/projects"),
			"repositories": link(base + "/2.0/repositories/" + ws.Slug),
			"snippets":     link(base + "/2.0/snippets/" + ws.Slug),
		},
	}
}

// cloudRepoJSON renders a repository; callers hold s.mu.
func (s *Server) cloudRepoJSON(base string, repo *cloudRepo) map[string]any {
	ws := s.state.workspaces[repo.Workspace]
	full := repo.Workspace + "/" + repo.Slug
	api := base + "/2.0/repositories/" + full
	out := map[string]any{
		"type":        "repository",
		"uuid":        repo.UUID,
		"name":        repo.Name,
		"slug":        repo.Slug,
		"full_name":   full,
		"is_private":  *repo.IsPrivate,
		"scm":         "git",
		"description": "",
		"language":    "",
		"size":        0,
		"has_issues":  false,
		"has_wiki":    false,
		"fork_policy": "allow_forks",
		"created_on":  rfc3339(repo.created),
		"updated_on":  rfc3339(repo.created),
		"mainbranch":  map[string]any{"type": "branch", "name": repo.MainBranch},
		"owner": map[string]any{
			"type": "team", "uuid": ws.UUID, "display_name": ws.Name, "username": ws.Slug,
			"links": map[string]any{"avatar": link(base + "/workspaces/" + ws.Slug + "/avatar/")},
		},
		"workspace": map[string]any{
			"type": "workspace", "uuid": ws.UUID, "name": ws.Name, "slug": ws.Slug,
			"links": map[string]any{"self": link(base + "/2.0/workspaces/" + ws.Slug)},
		},
		"links": map[string]any{
			"self":         link(api),
			"html":         link(base + "/" + full),
			"avatar":       link(base + "/" + full + "/avatar/32/"),
			"pullrequests": link(api + "/pullrequests"),
			"commits":      link(api + "/commits"),
			"forks":        link(api + "/forks"),
			"watchers":     link(api + "/watchers"),
			"downloads":    link(api + "/downloads"),
			"hooks":        link(api + "/hooks"),
			"clone": []any{
				map[string]any{"name": "https", "href": base + "/" + full + ".git"},
			},
		},
	}
	if repo.ProjectKey != "" {
		out["project"] = map[string]any{
			"type": "project", "key": repo.ProjectKey, "name": repo.ProjectKey,
			"uuid": braced(uuidFrom("project:" + repo.Workspace + "/" + repo.ProjectKey)),
			"links": map[string]any{
				"html":   link(base + "/" + ws.Slug + "/workspace/projects/" + repo.ProjectKey),
				"avatar": link(base + "/" + ws.Slug + "/workspace/projects/" + repo.ProjectKey + "/avatar/32"),
			},
		}
	}
	return out
}

func (s *Server) cloudGetUser(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	writeJSON(w, http.StatusOK, s.cloudUserJSON(r, c.user))
}

func (s *Server) cloudGetWorkspace(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	slug := r.PathValue("workspace")
	s.mu.Lock()
	ws := s.state.workspaces[slug]
	created := s.state.wsCreated[slug]
	s.mu.Unlock()
	if ws == nil {
		cloudError(w, http.StatusNotFound, "No workspace with identifier '"+slug+"'.", "")
		return
	}
	if !c.canSeeWorkspace(slug) {
		cloudError(w, http.StatusForbidden, "You do not have access to this workspace.", "")
		return
	}
	writeJSON(w, http.StatusOK, s.cloudWorkspaceJSON(r, ws, created))
}

// cloudListRepos answers q (filter) and sort as the description documents them (see
// bbql.go); a bad expression or field is a 400.
func (s *Server) cloudListRepos(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	slug := r.PathValue("workspace")
	s.mu.Lock()
	if s.state.workspaces[slug] == nil {
		s.mu.Unlock()
		cloudError(w, http.StatusNotFound, "No workspace with identifier '"+slug+"'.", "")
		return
	}
	var repos []map[string]any
	if c.canSeeWorkspace(slug) {
		base := s.baseURL(r)
		for _, repo := range s.state.sortedCloudRepos(slug) {
			repos = append(repos, s.cloudRepoJSON(base, repo))
		}
	}
	s.mu.Unlock()
	s.cloudQueryPage(w, r, repos, cloudRepoFields)
}

// cloudQueryPage filters objs by q, orders them by sort (both over fields) and writes
// the page; a bad expression or field is a 400, as on Bitbucket.
func (s *Server) cloudQueryPage(w http.ResponseWriter, r *http.Request, objs []map[string]any, fields map[string]bool) {
	query := r.URL.Query()
	if q := query.Get("q"); q != "" {
		filter, err := parseBBQL(q, fields)
		if err != nil {
			cloudError(w, http.StatusBadRequest, "Invalid query: "+err.Error(), "")
			return
		}
		objs = slices.DeleteFunc(objs, func(o map[string]any) bool { return !filter.eval(o) })
	}
	if spec := query.Get("sort"); spec != "" {
		if err := sortObjects(objs, spec, fields); err != nil {
			cloudError(w, http.StatusBadRequest, "Invalid sort: "+err.Error(), "")
			return
		}
	}
	items := make([]any, 0, len(objs))
	for _, o := range objs {
		items = append(items, o)
	}
	s.cloudPage(w, r, items)
}

func (s *Server) cloudGetRepo(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	body := s.cloudRepoJSON(s.baseURL(r), repo)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
