package sandbox

// Bitbucket Cloud repository webhooks: list, create, get, update, delete.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

func (s *Server) cloudHookJSON(base string, repo *cloudRepo, h *cloudHook) map[string]any {
	full := repo.Workspace + "/" + repo.Slug
	api := base + "/2.0/repositories/" + full
	events := append([]string{}, h.Events...)
	sort.Strings(events)
	return map[string]any{
		"type":                   "webhook_subscription",
		"uuid":                   h.UUID,
		"url":                    h.URL,
		"description":            h.Description,
		"subject_type":           "repository",
		"subject":                map[string]any{"type": "repository", "full_name": full, "name": repo.Name, "uuid": repo.UUID, "links": map[string]any{"self": link(api), "html": link(base + "/" + full)}},
		"active":                 h.Active,
		"created_at":             rfc3339(h.CreatedAt),
		"events":                 events,
		"secret_set":             h.Secret != "",
		"skip_cert_verification": h.SkipCertVerification,
		"links":                  map[string]any{"self": link(api + "/hooks/" + url.PathEscape(h.UUID))},
	}
}

func (s *Server) cloudListHooks(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	base := s.baseURL(r)
	items := make([]any, 0, len(repo.hooks))
	for _, h := range repo.hooks {
		items = append(items, s.cloudHookJSON(base, repo, h))
	}
	s.mu.Unlock()
	s.cloudPage(w, r, items)
}

// hookFields is a decoded hook body that remembers which fields were present and
// whether `secret` was null, because update semantics depend on it.
type hookFields struct {
	raw map[string]json.RawMessage
}

func decodeFields(r *http.Request) (hookFields, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&raw); err != nil {
		return hookFields{}, fmt.Errorf("request body is not a JSON object: %v", err)
	}
	return hookFields{raw: raw}, nil
}

func (f hookFields) has(name string) bool { _, ok := f.raw[name]; return ok }

func (f hookFields) isNull(name string) bool {
	v, ok := f.raw[name]
	return ok && strings.TrimSpace(string(v)) == "null"
}

func (f hookFields) decode(name string, into any) error {
	if err := json.Unmarshal(f.raw[name], into); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// cloudRepoAndBody resolves the repository of a write and decodes its JSON object body;
// when either fails it has answered and ok is false.
func (s *Server) cloudRepoAndBody(w http.ResponseWriter, r *http.Request, c cloudCaller) (repo *cloudRepo, f hookFields, ok bool) {
	repo = s.cloudRepoFor(w, r, c)
	if repo == nil {
		return nil, hookFields{}, false
	}
	f, err := decodeFields(r)
	if err != nil {
		cloudError(w, http.StatusBadRequest, "Bad request", err.Error())
		return nil, hookFields{}, false
	}
	return repo, f, true
}

// applyCloudHook validates and applies fields to h; create requires url and events.
func applyCloudHook(h *cloudHook, f hookFields, create bool) error {
	if create || f.has("url") {
		var u string
		if err := f.decode("url", &u); err != nil || u == "" {
			return fmt.Errorf("url: a URL is required")
		}
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return fmt.Errorf("url: %q is not a valid http(s) URL", u)
		}
		h.URL = u
	}
	if create || f.has("events") {
		var events []string
		if err := f.decode("events", &events); err != nil || len(events) == 0 {
			return fmt.Errorf("events: at least one event is required")
		}
		seen := map[string]bool{}
		for _, e := range events {
			if !slices.Contains(cloudHookEvents, e) {
				return fmt.Errorf("events: %q is not a valid event", e)
			}
			if seen[e] {
				return fmt.Errorf("events: %q is listed twice", e)
			}
			seen[e] = true
		}
		h.Events = events
	}
	if f.has("description") && !f.isNull("description") {
		if err := f.decode("description", &h.Description); err != nil {
			return err
		}
	}
	if f.has("active") && !f.isNull("active") {
		if err := f.decode("active", &h.Active); err != nil {
			return err
		}
	}
	if f.has("skip_cert_verification") && !f.isNull("skip_cert_verification") {
		if err := f.decode("skip_cert_verification", &h.SkipCertVerification); err != nil {
			return err
		}
	}
	// secret: omitted keeps it, null or "" removes it.
	if f.has("secret") {
		if f.isNull("secret") {
			h.Secret = ""
		} else {
			var secret string
			if err := f.decode("secret", &secret); err != nil {
				return err
			}
			if len(secret) > 128 {
				return fmt.Errorf("secret: at most 128 characters")
			}
			h.Secret = secret
		}
	}
	return nil
}

func (s *Server) cloudCreateHook(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo, f, ok := s.cloudRepoAndBody(w, r, c)
	if !ok {
		return
	}
	h := &cloudHook{UUID: braced(newUUID()), Active: true, CreatedAt: time.Now().UTC()}
	if err := applyCloudHook(h, f, true); err != nil {
		cloudError(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	s.mu.Lock()
	repo.hooks = append(repo.hooks, h)
	body := s.cloudHookJSON(s.baseURL(r), repo, h)
	s.mu.Unlock()
	w.Header().Set("Location", s.baseURL(r)+"/2.0/repositories/"+repo.Workspace+"/"+repo.Slug+"/hooks/"+url.PathEscape(h.UUID))
	writeJSON(w, http.StatusCreated, body)
}

func findCloudHook(repo *cloudRepo, uid string) (int, *cloudHook) {
	for i, h := range repo.hooks {
		if strings.EqualFold(h.UUID, braced(uid)) {
			return i, h
		}
	}
	return -1, nil
}

func (s *Server) cloudGetHook(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	_, h := findCloudHook(repo, r.PathValue("uid"))
	var body map[string]any
	if h != nil {
		body = s.cloudHookJSON(s.baseURL(r), repo, h)
	}
	s.mu.Unlock()
	if h == nil {
		cloudError(w, http.StatusNotFound, "Webhook not found", "")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) cloudUpdateHook(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo, f, ok := s.cloudRepoAndBody(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, h := findCloudHook(repo, r.PathValue("uid"))
	if h == nil {
		cloudError(w, http.StatusNotFound, "Webhook not found", "")
		return
	}
	updated := *h
	updated.Events = append([]string(nil), h.Events...)
	if err := applyCloudHook(&updated, f, false); err != nil {
		cloudError(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	*h = updated
	writeJSON(w, http.StatusOK, s.cloudHookJSON(s.baseURL(r), repo, h))
}

func (s *Server) cloudDeleteHook(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	repo := s.cloudRepoFor(w, r, c)
	if repo == nil {
		return
	}
	s.mu.Lock()
	i, h := findCloudHook(repo, r.PathValue("uid"))
	if h != nil {
		repo.hooks = slices.Delete(repo.hooks, i, i+1)
	}
	s.mu.Unlock()
	if h == nil {
		cloudError(w, http.StatusNotFound, "Webhook not found", "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
