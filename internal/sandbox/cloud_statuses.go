package sandbox

// Bitbucket Cloud commit build statuses.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

func (s *Server) cloudStatusJSON(base string, repo *cloudRepo, commit string, st *cloudStatus) map[string]any {
	api := base + "/2.0/repositories/" + repo.Workspace + "/" + repo.Slug
	out := map[string]any{
		"type":        "build",
		"uuid":        st.UUID,
		"key":         st.Key,
		"state":       st.State,
		"name":        st.Name,
		"description": st.Description,
		"url":         st.URL,
		"created_on":  rfc3339(st.CreatedOn),
		"updated_on":  rfc3339(st.UpdatedOn),
		"repository":  map[string]any{"type": "repository", "full_name": repo.Workspace + "/" + repo.Slug, "name": repo.Name, "uuid": repo.UUID},
		"commit":      map[string]any{"type": "commit", "hash": commit, "links": map[string]any{"self": link(api + "/commit/" + commit)}},
		"links": map[string]any{
			"self":   link(api + "/commit/" + commit + "/statuses/build/" + url.PathEscape(st.Key)),
			"commit": link(api + "/commit/" + commit),
		},
	}
	if st.Refname != "" {
		out["refname"] = st.Refname
	}
	return out
}

// upsertCloudStatus validates the body and stores it under key (the body's key when empty).
func upsertCloudStatus(repo *cloudRepo, commit, pathKey string, f hookFields) (*cloudStatus, error) {
	str := func(name string) (string, error) {
		if !f.has(name) || f.isNull(name) {
			return "", nil
		}
		var v string
		err := f.decode(name, &v)
		return v, err
	}
	key, err := str("key")
	if err != nil {
		return nil, err
	}
	if pathKey != "" {
		key = pathKey
	}
	if key == "" {
		return nil, fmt.Errorf("key: required")
	}
	if len(key) > cloudMaxStatusKey {
		return nil, fmt.Errorf("key: at most %d characters", cloudMaxStatusKey)
	}
	var existing *cloudStatus
	for _, st := range repo.statuses[commit] {
		if st.Key == key {
			existing = st
		}
	}
	state, err := str("state")
	if err != nil {
		return nil, err
	}
	if state == "" && existing != nil {
		state = existing.State
	}
	if !slices.Contains(cloudStatusStates, state) {
		return nil, fmt.Errorf("state: must be one of INPROGRESS, SUCCESSFUL, FAILED, STOPPED")
	}
	link, err := str("url")
	if err != nil {
		return nil, err
	}
	if link == "" && existing != nil {
		link = existing.URL
	}
	if link == "" {
		return nil, fmt.Errorf("url: required")
	}
	name, err := str("name")
	if err != nil {
		return nil, err
	}
	description, err := str("description")
	if err != nil {
		return nil, err
	}
	refname, err := str("refname")
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if existing == nil {
		existing = &cloudStatus{UUID: braced(newUUID()), Key: key, CreatedOn: now}
		repo.statuses[commit] = append(repo.statuses[commit], existing)
	}
	existing.State, existing.URL, existing.UpdatedOn = state, link, now
	if name != "" || existing.Name == "" {
		existing.Name = name
	}
	if description != "" || f.has("description") {
		existing.Description = description
	}
	if refname != "" || f.has("refname") {
		existing.Refname = refname
	}
	return existing, nil
}

func (s *Server) cloudPostStatus(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.cloudWriteStatus(w, r, c, "", http.StatusCreated)
}

func (s *Server) cloudPutStatus(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.cloudWriteStatus(w, r, c, r.PathValue("key"), http.StatusOK)
}

func (s *Server) cloudWriteStatus(w http.ResponseWriter, r *http.Request, c cloudCaller, pathKey string, code int) {
	repo, f, ok := s.cloudRepoAndBody(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	commit := repo.resolveCommit(r.PathValue("commit"))
	if pathKey != "" && !hasCloudStatus(repo, commit, pathKey) {
		cloudError(w, http.StatusNotFound, "Commit status not found", "")
		return
	}
	st, err := upsertCloudStatus(repo, commit, pathKey, f)
	if err != nil {
		cloudError(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	writeJSON(w, code, s.cloudStatusJSON(s.baseURL(r), repo, commit, st))
}

func hasCloudStatus(repo *cloudRepo, commit, key string) bool {
	for _, st := range repo.statuses[commit] {
		if st.Key == key {
			return true
		}
	}
	return false
}

func (s *Server) cloudGetStatus(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	commit, key := repo.resolveCommit(r.PathValue("commit")), r.PathValue("key")
	for _, st := range repo.statuses[commit] {
		if st.Key == key {
			writeJSON(w, http.StatusOK, s.cloudStatusJSON(s.baseURL(r), repo, commit, st))
			return
		}
	}
	cloudError(w, http.StatusNotFound, "Commit status not found", "")
}

func (s *Server) cloudListStatuses(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	refname := r.URL.Query().Get("refname")
	s.mu.Lock()
	commit := repo.resolveCommit(r.PathValue("commit"))
	base := s.baseURL(r)
	items := []any{}
	for _, st := range repo.statuses[commit] {
		if refname != "" && st.Refname != "" && st.Refname != refname {
			continue
		}
		items = append(items, s.cloudStatusJSON(base, repo, commit, st))
	}
	s.mu.Unlock()
	s.cloudPage(w, r, items)
}
