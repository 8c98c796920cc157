package sandbox

// Bitbucket Data Center REST subset under /rest.

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const (
	dcDefaultLimit = 25
	dcMaxLimit     = 1000

	excAuthentication = "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"
	excAuthorisation  = "com.atlassian.bitbucket.AuthorisationException"
	excNoProject      = "com.atlassian.bitbucket.project.NoSuchProjectException"
	excNoRepository   = "com.atlassian.bitbucket.repository.NoSuchRepositoryException"
	excNoBranch       = "com.atlassian.bitbucket.repository.NoSuchBranchException"
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
		mux.HandleFunc("GET "+api+"/repos", s.dcAuth(s.dcSearchRepos))
		mux.HandleFunc("GET "+repo, s.dcAuth(s.dcGetRepo))
		mux.HandleFunc("GET "+repo+"/default-branch", s.dcAuth(s.dcGetDefaultBranch))
		mux.HandleFunc("GET "+repo+"/branches", s.dcAuth(s.dcListBranches))
		mux.HandleFunc("GET "+repo+"/branches/default", s.dcAuth(s.dcGetDefaultBranchDeprecated))
		mux.HandleFunc("GET "+repo+"/compare/changes", s.dcAuth(s.dcCompareChanges))
		mux.HandleFunc("GET "+repo+"/commits/{commitId}/changes", s.dcAuth(s.dcCommitChanges))
		mux.HandleFunc("GET "+repo+"/pull-requests/{pullRequestId}/changes", s.dcAuth(s.dcPullRequestChanges))
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

// dcSearchRepos answers GET /api/latest/repos: the repositories the token may see, or
// with permission=REPO_READ|REPO_WRITE|REPO_ADMIN those it holds that permission on
// (Atlassian's description of the resource); projectkey narrows to one project. An
// unknown permission is a 400.
func (s *Server) dcSearchRepos(w http.ResponseWriter, r *http.Request, tok dcToken) {
	q := r.URL.Query()
	need := levelRead
	if p := q.Get("permission"); p != "" {
		var ok bool
		if need, ok = map[string]int{"REPO_READ": levelRead, "REPO_WRITE": levelWrite, "REPO_ADMIN": levelAdmin}[p]; !ok {
			dcFieldError(w, "permission", "The permission level is unknown or not related to repositories.")
			return
		}
	}
	project := strings.ToUpper(strings.TrimSpace(q.Get("projectkey")))
	s.mu.Lock()
	var repos []*dcRepo
	for _, repo := range s.state.dcRepos {
		if (project == "" || repo.Project == project) && tok.level(repo.Project, repo.Slug) >= need {
			repos = append(repos, repo)
		}
	}
	sort.Slice(repos, func(i, j int) bool {
		return repos[i].Project+"/"+repos[i].Slug < repos[j].Project+"/"+repos[j].Slug
	})
	base := s.baseURL(r)
	items := make([]any, 0, len(repos))
	for _, repo := range repos {
		items = append(items, s.dcRepoJSON(base, repo))
	}
	s.mu.Unlock()
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

// dcGetDefaultBranchDeprecated answers the deprecated GET .../branches/default with a
// RestBranch (REPO_READ), as the DC description documents it: the default branch with
// its latest commit. A configured default branch that was never pushed is a 404
// (NoSuchBranchException); the sandbox's default branches always exist.
func (s *Server) dcGetDefaultBranchDeprecated(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	s.mu.Lock()
	branch := repo.DefaultBranch
	head, ok := repo.branches[branch]
	s.mu.Unlock()
	if !ok {
		dcError(w, http.StatusNotFound, excNoBranch, "Repository "+repo.Project+"/"+repo.Slug+" does not have a branch named "+branch+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "refs/heads/" + branch, "displayId": branch, "type": "BRANCH",
		"latestCommit": head, "latestChangeset": head, "isDefault": true,
	})
}
