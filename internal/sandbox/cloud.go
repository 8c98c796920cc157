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

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
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
	route := func(method, path string, h cloudHandler) {
		// The description's path, and the sandbox's pattern for it ({name...}: a
		// branch name may hold slashes).
		pattern := strings.Replace(path, "/refs/branches/{name}", "/refs/branches/{name...}", 1)
		mux.HandleFunc(method+" /2.0"+pattern, s.cloudAuth(cloudOperation(method, path), h))
	}
	const repo = "/repositories/{workspace}/{repo_slug}"
	route("GET", "/user", s.cloudGetUser)
	route("GET", "/user/emails", s.cloudListEmails)
	route("GET", "/user/workspaces", s.cloudListWorkspaceAccess)
	route("GET", "/user/permissions/workspaces", s.cloudListMemberships)
	route("GET", "/workspaces", s.cloudListWorkspaces)
	route("GET", "/workspaces/{workspace}", s.cloudGetWorkspace)
	route("GET", "/repositories/{workspace}", s.cloudListRepos)
	route("GET", repo, s.cloudGetRepo)
	route("GET", repo+"/refs/branches", s.cloudListBranches)
	route("GET", repo+"/refs/branches/{name}", s.cloudGetBranch)
	route("GET", repo+"/branching-model", s.cloudGetBranchingModel)
	route("GET", repo+"/diffstat/{spec}", s.cloudDiffstat)
	route("GET", repo+"/pullrequests/{pull_request_id}/diffstat", s.cloudPullRequestDiffstat)
	route("GET", repo+"/hooks", s.cloudListHooks)
	route("POST", repo+"/hooks", s.cloudCreateHook)
	route("GET", repo+"/hooks/{uid}", s.cloudGetHook)
	route("PUT", repo+"/hooks/{uid}", s.cloudUpdateHook)
	route("DELETE", repo+"/hooks/{uid}", s.cloudDeleteHook)
	route("POST", repo+"/commit/{commit}/statuses/build", s.cloudPostStatus)
	route("GET", repo+"/commit/{commit}/statuses/build/{key}", s.cloudGetStatus)
	route("PUT", repo+"/commit/{commit}/statuses/build/{key}", s.cloudPutStatus)
	route("GET", repo+"/commit/{commit}/statuses", s.cloudListStatuses)
	mux.HandleFunc("/2.0/", func(w http.ResponseWriter, r *http.Request) {
		cloudError(w, http.StatusNotFound, "Resource not found", "There is no API hosted at this URL.")
	})
}

// cloudOperation is the row of access.Cloud for a route: the scopes Atlassian's
// description lists for it. A route without a row is a programming error.
func cloudOperation(method, path string) access.Operation {
	op, ok := access.Find(access.Cloud, method, path)
	if !ok {
		panic("sandbox: no access.Cloud row for " + method + " " + path)
	}
	return op
}

func cloudError(w http.ResponseWriter, status int, message, detail string) {
	body := map[string]any{"message": message}
	if detail != "" {
		body["detail"] = detail
	}
	writeJSON(w, status, map[string]any{"type": "error", "error": body})
}

type cloudCaller struct {
	user   *CloudUser
	scopes []string
}

type cloudHandler func(w http.ResponseWriter, r *http.Request, c cloudCaller)

// cloudAuth checks Basic email:api_token and the scopes op lists (access.Cloud, from
// the description's x-atlassian-oauth2-scopes): every one of them, as API token scopes
// do not imply one another. On repository routes the scopes are checked after the
// repository is found (cloudRepoFor), as Bitbucket answers 404 for a missing
// repository before it complains about scopes.
func (s *Server) cloudAuth(op access.Operation, h cloudHandler) http.HandlerFunc {
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
		// Bitbucket reports the token's scopes and the operation's on every answer
		// (Atlassian's "How to fetch the scope of a token via command line").
		w.Header().Set("X-OAuth-Scopes", strings.Join(c.scopes, ", "))
		w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(op.Scopes, ", "))
		if !routeNeedsRepo(r) && !c.holds(op.Scopes) {
			cloudScopeError(w, op.Scopes, c.scopes)
			return
		}
		r = r.WithContext(withNeed(r.Context(), op.Scopes))
		h(w, r, c)
	}
}

func routeNeedsRepo(r *http.Request) bool { return r.PathValue("repo_slug") != "" }

// holds reports whether the caller's token has every scope of need.
func (c cloudCaller) holds(need []string) bool {
	for _, sc := range need {
		if !slices.Contains(c.scopes, sc) {
			return false
		}
	}
	return true
}

// cloudScopeError is Bitbucket's answer to a token lacking a scope: 403, the message
// and the required and granted scopes, as Bitbucket sends them (the description's
// error schema types detail as a string; Bitbucket sends an object there).
func cloudScopeError(w http.ResponseWriter, need, granted []string) {
	writeJSON(w, http.StatusForbidden, map[string]any{"type": "error", "error": map[string]any{
		"message": "Your credentials lack one or more required privilege scopes.",
		"detail":  map[string]any{"required": need, "granted": append([]string{}, granted...)},
	}})
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
	if need := needFrom(r.Context()); !c.holds(need) {
		cloudScopeError(w, need, c.scopes)
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
