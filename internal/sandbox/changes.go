package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// The change listings of both products, computed from the history the control API's
// pushes and pull requests built (history.go): Cloud's diffstat of a revision range and
// of a pull request, Data Center's compare/changes, commit changes and pull request
// changes. A listing is the union of the files of the commits in the range.

const (
	// Cloud pages a diffstat by 500 by default and at most 5000 (paginated_diffstats).
	cloudDiffstatPagelen    = 500
	cloudMaxDiffstatPagelen = 5000

	excNoCommit      = "com.atlassian.bitbucket.commit.NoSuchCommitException"
	excNoPullRequest = "com.atlassian.bitbucket.pull.NoSuchPullRequestException"
)

func cloudCommitFile(api, commit, p string) map[string]any {
	return map[string]any{"type": "commit_file", "path": p, "escaped_path": p,
		"links": map[string]any{"self": link(api + "/src/" + commit + "/" + p)}}
}

// cloudDiffstat serves GET .../diffstat/{spec}: spec is "new..old" (what new has that
// old has not) or one revision (against its parent); revisions are hashes or branches.
func (s *Server) cloudDiffstat(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	spec := r.PathValue("spec")
	s.mu.Lock()
	changes, newHash, ok := repo.rangeChanges(spec)
	s.mu.Unlock()
	if !ok {
		cloudError(w, http.StatusNotFound, "Commit not found", "The revision range "+spec+" names an unknown commit.")
		return
	}
	api := s.baseURL(r) + "/2.0/repositories/" + repo.Workspace + "/" + repo.Slug
	items := make([]any, 0, len(changes))
	for _, ch := range changes {
		d := map[string]any{"type": "diffstat", "status": ch.Status, "lines_added": 1, "lines_removed": 0,
			"new": cloudCommitFile(api, newHash, ch.Path)}
		switch ch.Status {
		case "modified":
			d["lines_removed"] = 1
			d["old"] = cloudCommitFile(api, newHash, ch.Path)
		case "renamed":
			d["lines_added"] = 0
			d["old"] = cloudCommitFile(api, newHash, ch.OldPath)
		}
		items = append(items, d)
	}
	s.cloudPageSized(w, r, items, cloudDiffstatPagelen, cloudMaxDiffstatPagelen)
}

// rangeChanges resolves a Cloud revision spec and lists its changes; callers hold s.mu.
func (h *history) rangeChanges(spec string) (changes []fileChange, newHash string, ok bool) {
	newRev, oldRev, isRange := strings.Cut(spec, "..")
	to, ok := h.resolve(newRev)
	if !ok {
		return nil, "", false
	}
	base := to.Parent
	if isRange {
		from, ok := h.resolve(oldRev)
		if !ok {
			return nil, "", false
		}
		base = from.Hash
	}
	return h.changes(h.between(to.Hash, base), base), to.Hash, true
}

// cloudPullRequestDiffstat serves GET .../pullrequests/{id}/diffstat: a 302 to the
// repository diffstat of the pull request's range, as the description documents.
func (s *Server) cloudPullRequestDiffstat(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("pull_request_id"))
	s.mu.Lock()
	pr := repo.prs[id]
	s.mu.Unlock()
	if pr == nil {
		cloudError(w, http.StatusNotFound, "Pull request not found", "")
		return
	}
	target := fmt.Sprintf("%s/2.0/repositories/%s/%s/diffstat/%s..%s", s.baseURL(r), repo.Workspace, repo.Slug, pr.SourceCommit, pr.DestinationCommit)
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// dcChangeJSON renders a change as Data Center's RestChange.
func dcChangeJSON(base string, repo *dcRepo, commit string, ch fileChange) map[string]any {
	restPath := func(p string) map[string]any {
		out := map[string]any{"components": strings.Split(p, "/"), "name": path.Base(p), "toString": p}
		if dir := path.Dir(p); dir != "." {
			out["parent"] = dir
		} else {
			out["parent"] = ""
		}
		if ext := strings.TrimPrefix(path.Ext(p), "."); ext != "" {
			out["extension"] = ext
		}
		return out
	}
	kind := map[string]string{"added": "ADD", "modified": "MODIFY", "renamed": "MOVE"}[ch.Status]
	out := map[string]any{
		"contentId": commit, "path": restPath(ch.Path), "executable": false, "percentUnchanged": -1,
		"type": kind, "nodeType": "FILE", "properties": map[string]any{"gitChangeType": kind},
		"links": dcLinks(fmt.Sprintf("%s/projects/%s/repos/%s/browse/%s?at=%s", base, repo.Project, repo.Slug, ch.Path, url.QueryEscape(commit))),
	}
	if kind != "ADD" {
		out["fromContentId"] = commit
	}
	if ch.OldPath != "" {
		out["srcPath"] = restPath(ch.OldPath)
		out["srcExecutable"] = false
	}
	return out
}

// dcWriteChanges pages changes of the range (newHash, base); callers do not hold s.mu.
func (s *Server) dcWriteChanges(w http.ResponseWriter, r *http.Request, repo *dcRepo, newHash, base string) {
	s.mu.Lock()
	changes := repo.changes(repo.between(newHash, base), base)
	s.mu.Unlock()
	items := make([]any, 0, len(changes))
	for _, ch := range changes {
		items = append(items, dcChangeJSON(s.baseURL(r), repo, newHash, ch))
	}
	dcPage(w, r, items)
}

// dcResolve finds a commit (or branch) of repo; an empty rev is the default branch.
func (s *Server) dcResolve(repo *dcRepo, rev string) (*commitInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev == "" {
		rev = repo.branches[repo.DefaultBranch]
	}
	return repo.resolve(strings.TrimPrefix(rev, "refs/heads/"))
}

func dcNoCommit(w http.ResponseWriter, rev string) {
	dcError(w, http.StatusNotFound, excNoCommit, "Commit '"+rev+"' does not exist in this repository.")
}

// dcCompareChanges serves GET .../compare/changes?from=&to=: what from has that to has
// not; either left out is the default branch (the description's words).
func (s *Server) dcCompareChanges(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	q := r.URL.Query()
	from, ok := s.dcResolve(repo, q.Get("from"))
	if !ok {
		dcNoCommit(w, q.Get("from"))
		return
	}
	to, ok := s.dcResolve(repo, q.Get("to"))
	if !ok {
		dcNoCommit(w, q.Get("to"))
		return
	}
	s.dcWriteChanges(w, r, repo, from.Hash, to.Hash)
}

// dcCommitChanges serves GET .../commits/{commitId}/changes (since: the commit to
// compare with; default its parent).
func (s *Server) dcCommitChanges(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	commit, ok := s.dcResolve(repo, r.PathValue("commitId"))
	if !ok || r.PathValue("commitId") == "" {
		dcNoCommit(w, r.PathValue("commitId"))
		return
	}
	base := commit.Parent
	if since := r.URL.Query().Get("since"); since != "" {
		c, ok := s.dcResolve(repo, since)
		if !ok {
			dcNoCommit(w, since)
			return
		}
		base = c.Hash
	}
	s.dcWriteChanges(w, r, repo, commit.Hash, base)
}

// dcPullRequestChanges serves GET .../pull-requests/{pullRequestId}/changes: the
// changes of the pull request's commits.
func (s *Server) dcPullRequestChanges(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("pullRequestId"))
	s.mu.Lock()
	pr := repo.prs[id]
	s.mu.Unlock()
	if pr == nil {
		dcError(w, http.StatusNotFound, excNoPullRequest, "No pull request exists with ID "+r.PathValue("pullRequestId")+" for this repository.")
		return
	}
	s.dcWriteChanges(w, r, repo, pr.SourceCommit, pr.DestinationCommit)
}
