package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// repoSlug is what both products make of a repository name: lower case letters,
// digits, '-', '_' and '.'.
var repoSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// Rename is what POST /_sandbox/rename and Server.RenameRepository take: a repository
// given a new name (and slug). See CONTROL.md.
type Rename struct {
	Product    string `json:"product"`
	Workspace  string `json:"workspace,omitempty"`
	Project    string `json:"project,omitempty"`
	Repository string `json:"repository"`
	NewName    string `json:"new_name"`
}

// RenameRepository renames a repository as a repository administrator does in
// Bitbucket: it keeps its id (Cloud uuid, Data Center id), branches, commits,
// statuses and hooks, answers under the new slug only (the old one is a 404), and
// Bitbucket sends the repository event to its hooks: Cloud repo:updated with the old
// and new name in changes, Data Center repo:modified with old and new (Atlassian's
// event payload descriptions). It returns the deliveries, as Fire does.
func (s *Server) RenameRepository(ctx context.Context, rn Rename) ([]Delivery, error) {
	if !repoSlug.MatchString(rn.NewName) {
		return nil, fmt.Errorf("new_name: %q is not a repository slug", rn.NewName)
	}
	ev := Event{Product: rn.Product, Workspace: rn.Workspace, Project: rn.Project, Repository: rn.NewName, PreviousName: rn.Repository}
	s.mu.Lock()
	switch rn.Product {
	case "cloud":
		ev.Event = "repo:updated"
		repo := s.state.cloudRepos[rn.Workspace+"/"+rn.Repository]
		if repo == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("repository: no Cloud repository %s/%s", rn.Workspace, rn.Repository)
		}
		if s.state.cloudRepos[rn.Workspace+"/"+rn.NewName] != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("new_name: %s/%s already exists", rn.Workspace, rn.NewName)
		}
		delete(s.state.cloudRepos, rn.Workspace+"/"+rn.Repository)
		repo.Slug, repo.Name = rn.NewName, rn.NewName
		s.state.cloudRepos[rn.Workspace+"/"+rn.NewName] = repo
	case "datacenter":
		ev.Event = "repo:modified"
		key := strings.ToUpper(rn.Project)
		repo := s.state.dcRepos[key+"/"+rn.Repository]
		if repo == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("repository: no Data Center repository %s/%s", key, rn.Repository)
		}
		if s.state.dcRepos[key+"/"+rn.NewName] != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("new_name: %s/%s already exists", key, rn.NewName)
		}
		delete(s.state.dcRepos, key+"/"+rn.Repository)
		repo.Slug, repo.Name = rn.NewName, rn.NewName
		s.state.dcRepos[key+"/"+rn.NewName] = repo
		// A repository access token belongs to the repository, not to its slug.
		for token, tok := range s.state.dcTokens {
			if tok.project == key && tok.repository == rn.Repository {
				tok.repository = rn.NewName
				s.state.dcTokens[token] = tok
			}
		}
	default:
		s.mu.Unlock()
		return nil, fmt.Errorf("product: must be cloud or datacenter")
	}
	s.mu.Unlock()
	return s.Fire(ctx, ev)
}

func (s *Server) ctlRename(w http.ResponseWriter, r *http.Request) {
	var rn Rename
	if err := decodeStrict(r, &rn); err != nil {
		ctlError(w, http.StatusBadRequest, "rename: "+err.Error())
		return
	}
	deliveries, err := s.RenameRepository(r.Context(), rn)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if deliveries == nil {
		deliveries = []Delivery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": deliveries})
}
