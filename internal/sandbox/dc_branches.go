package sandbox

import (
	"net/http"
	"sort"
	"strings"
)

// Bitbucket Data Center's branch list, GET .../branches (getBranches in Atlassian's
// Data Center 9.2 description: REPO_READ; filterText, boostMatches, orderBy, details
// and start/limit paging; a page of RestBranch; 404 for a repository that does not
// exist), answered from the history the control API's events built (history.go).
// filterText keeps the branches whose name contains it, ignoring case; boostMatches
// puts an exact match, then prefix matches, first. The description does not state the
// default orderBy: the sandbox orders by name unless MODIFICATION is asked for.

func (s *Server) dcListBranches(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelRead)
	if repo == nil {
		return
	}
	q := r.URL.Query()
	order := q.Get("orderBy")
	if order != "" && order != "ALPHABETICAL" && order != "MODIFICATION" {
		dcFieldError(w, "orderBy", "orderBy must be ALPHABETICAL or MODIFICATION")
		return
	}
	filter := strings.ToLower(q.Get("filterText"))
	boost := q.Get("boostMatches") == "true"

	type branch struct {
		name, head string
		rank       int
		modified   int64
	}
	s.mu.Lock()
	var list []branch
	for name, head := range repo.branches {
		lower := strings.ToLower(name)
		if !strings.Contains(lower, filter) {
			continue
		}
		b := branch{name: name, head: head, rank: 2}
		if boost && filter != "" {
			switch {
			case lower == filter:
				b.rank = 0
			case strings.HasPrefix(lower, filter):
				b.rank = 1
			}
		}
		if c := repo.commits[head]; c != nil {
			b.modified = c.Date.UnixNano()
		}
		list = append(list, b)
	}
	defaultBranch := repo.DefaultBranch
	s.mu.Unlock()

	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if order == "MODIFICATION" && a.modified != b.modified {
			return a.modified > b.modified
		}
		return a.name < b.name
	})
	items := make([]any, 0, len(list))
	for _, b := range list {
		items = append(items, map[string]any{
			"id": "refs/heads/" + b.name, "displayId": b.name, "type": "BRANCH",
			"latestCommit": b.head, "latestChangeset": b.head, "isDefault": b.name == defaultBranch,
		})
	}
	dcPage(w, r, items)
}
