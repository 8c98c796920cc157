package sandbox

// Bitbucket Data Center build statuses: the repository resource and the build-status plugin.

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

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
