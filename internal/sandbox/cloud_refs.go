package sandbox

import (
	"net/http"
	"net/url"
	"sort"
)

// Bitbucket Cloud branches and the branching model, answered from the history the
// control API's events built (history.go).

// cloudBranchFields are the branch fields q and sort accept.
var cloudBranchFields = map[string]bool{
	"name": true, "target.hash": true, "target.date": true, "target.message": true,
	"target.author.raw": true, "default_merge_strategy": true,
}

// cloudBranchTypes is the branching model Bitbucket gives a repository by default.
var cloudBranchTypes = []any{
	map[string]any{"kind": "bugfix", "prefix": "bugfix/"},
	map[string]any{"kind": "feature", "prefix": "feature/"},
	map[string]any{"kind": "hotfix", "prefix": "hotfix/"},
	map[string]any{"kind": "release", "prefix": "release/"},
}

// cloudBranchJSON renders a branch; callers hold s.mu.
func (s *Server) cloudBranchJSON(base string, repo *cloudRepo, name string) map[string]any {
	full := repo.Workspace + "/" + repo.Slug
	api, html := base+"/2.0/repositories/"+full, base+"/"+full
	head := repo.commits[repo.branches[name]]
	if head == nil {
		head = &commitInfo{Hash: repo.branches[name]}
	}
	parents := []any{}
	if head.Parent != "" {
		parents = append(parents, map[string]any{"type": "commit", "hash": head.Parent,
			"links": map[string]any{"self": link(api + "/commit/" + head.Parent)}})
	}
	message := head.Message
	if message != "" {
		message += "\n"
	}
	return map[string]any{
		"type": "branch", "name": name,
		"merge_strategies":       []any{"merge_commit", "squash", "fast_forward", "squash_fast_forward", "rebase_fast_forward", "rebase_merge"},
		"default_merge_strategy": "merge_commit",
		"target": map[string]any{
			"type": "commit", "hash": head.Hash, "date": head.Date.UTC().Format("2006-01-02T15:04:05+00:00"),
			"message": message, "parents": parents,
			"repository": map[string]any{"type": "repository", "full_name": full, "name": repo.Name, "uuid": repo.UUID},
			"links":      map[string]any{"self": link(api + "/commit/" + head.Hash), "html": link(html + "/commits/" + head.Hash)},
		},
		"links": map[string]any{
			"self":    link(api + "/refs/branches/" + url.PathEscape(name)),
			"commits": link(api + "/commits/" + url.PathEscape(name)),
			"html":    link(html + "/branch/" + url.PathEscape(name)),
		},
	}
}

// cloudListBranches serves GET .../refs/branches, paged, with q and sort.
func (s *Server) cloudListBranches(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	names := make([]string, 0, len(repo.branches))
	for name := range repo.branches {
		names = append(names, name)
	}
	sort.Strings(names)
	base := s.baseURL(r)
	objs := make([]map[string]any, 0, len(names))
	for _, name := range names {
		objs = append(objs, s.cloudBranchJSON(base, repo, name))
	}
	s.mu.Unlock()
	s.cloudQueryPage(w, r, objs, cloudBranchFields)
}

// cloudGetBranch serves GET .../refs/branches/{name}.
func (s *Server) cloudGetBranch(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	name := r.PathValue("name")
	s.mu.Lock()
	var body map[string]any
	if _, ok := repo.branches[name]; ok {
		body = s.cloudBranchJSON(s.baseURL(r), repo, name)
	}
	s.mu.Unlock()
	if body == nil {
		cloudError(w, http.StatusNotFound, "Branch not found", "There is no branch named "+name+".")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// cloudGetBranchingModel serves GET .../branching-model: Bitbucket's default model,
// development on the main branch, no production branch, the four branch types.
func (s *Server) cloudGetBranchingModel(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	base := s.baseURL(r)
	body := map[string]any{
		"type": "branching_model",
		"development": map[string]any{
			"name": repo.MainBranch, "use_mainbranch": true,
			"branch": s.cloudBranchJSON(base, repo, repo.MainBranch),
		},
		"branch_types": cloudBranchTypes,
		"links": map[string]any{
			"self": link(base + "/2.0/repositories/" + repo.Workspace + "/" + repo.Slug + "/branching-model"),
		},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
