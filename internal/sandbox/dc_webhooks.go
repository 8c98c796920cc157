package sandbox

// Bitbucket Data Center repository webhooks, and "Test connection".

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func dcHookJSON(h *dcHook) map[string]any {
	config := map[string]any{}
	for k, v := range h.Configuration {
		if k == "secret" { // write-only on current servers
			continue
		}
		config[k] = v
	}
	events := append([]string{}, h.Events...)
	sort.Strings(events)
	return map[string]any{
		"id": h.ID, "name": h.Name, "url": h.URL, "events": events, "active": h.Active,
		"configuration": config, "scopeType": "repository",
		"sslVerificationRequired": h.SSLVerify,
		"createdDate":             h.Created.UnixMilli(), "updatedDate": h.Updated.UnixMilli(),
	}
}

func (s *Server) dcListHooks(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	event := r.URL.Query().Get("event")
	s.mu.Lock()
	items := []any{}
	for _, h := range repo.hooks {
		if event != "" && !slices.Contains(h.Events, event) {
			continue
		}
		items = append(items, dcHookJSON(h))
	}
	s.mu.Unlock()
	dcPage(w, r, items)
}

// applyDCHook validates the body onto h. On create name, url and events are required;
// on update absent fields are kept and a present `configuration` replaces the old one.
func applyDCHook(h *dcHook, f hookFields, create bool) (field, msg string) {
	if create || f.has("name") {
		var name string
		if err := f.decode("name", &name); err != nil || strings.TrimSpace(name) == "" {
			return "name", "A webhook name is required."
		}
		if len(name) > 255 {
			return "name", "The webhook name must be 255 characters or less."
		}
		h.Name = name
	}
	if create || f.has("url") {
		var u string
		if err := f.decode("url", &u); err != nil || u == "" {
			return "url", "A webhook URL is required."
		}
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return "url", "The webhook URL is not a valid http or https URL."
		}
		h.URL = u
	}
	if create || f.has("events") {
		var events []string
		if err := f.decode("events", &events); err != nil || len(events) == 0 {
			return "events", "At least one event must be selected."
		}
		for _, e := range events {
			if !slices.Contains(dcHookEvents, e) {
				return "events", fmt.Sprintf("%q is not a valid webhook event.", e)
			}
		}
		slices.Sort(events)
		h.Events = slices.Compact(events)
	}
	if f.has("active") && !f.isNull("active") {
		if err := f.decode("active", &h.Active); err != nil {
			return "active", "active must be a boolean."
		}
	}
	if f.has("sslVerificationRequired") && !f.isNull("sslVerificationRequired") {
		if err := f.decode("sslVerificationRequired", &h.SSLVerify); err != nil {
			return "sslVerificationRequired", "sslVerificationRequired must be a boolean."
		}
	}
	if f.has("configuration") {
		config := map[string]string{}
		if !f.isNull("configuration") {
			var raw map[string]any
			if err := f.decode("configuration", &raw); err != nil {
				return "configuration", "configuration must be an object of strings."
			}
			for k, v := range raw {
				sv, ok := v.(string)
				if !ok {
					return "configuration." + k, "configuration values must be strings."
				}
				if sv != "" {
					config[k] = sv
				}
			}
		}
		h.Configuration = config
	}
	return "", ""
}

// dcAdminRepoAndBody resolves the repository of a webhook write (REPO_ADMIN) and
// decodes its JSON object body; when either fails it has answered and ok is false.
func (s *Server) dcAdminRepoAndBody(w http.ResponseWriter, r *http.Request, tok dcToken) (repo *dcRepo, f hookFields, ok bool) {
	repo = s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return nil, hookFields{}, false
	}
	f, err := decodeFields(r)
	if err != nil {
		dcError(w, http.StatusBadRequest, excValidation, "The request body is not a JSON object.")
		return nil, hookFields{}, false
	}
	return repo, f, true
}

func (s *Server) dcCreateHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo, f, ok := s.dcAdminRepoAndBody(w, r, tok)
	if !ok {
		return
	}
	now := time.Now().UTC()
	h := &dcHook{Active: true, SSLVerify: true, Configuration: map[string]string{}, Created: now, Updated: now}
	if field, msg := applyDCHook(h, f, true); field != "" {
		dcFieldError(w, field, msg)
		return
	}
	s.mu.Lock()
	h.ID = s.state.nextHookID
	s.state.nextHookID++
	repo.hooks = append(repo.hooks, h)
	body := dcHookJSON(h)
	s.mu.Unlock()
	// Data Center answers a create with 200, not 201.
	writeJSON(w, http.StatusOK, body)
}

func findDCHook(repo *dcRepo, idText string) (int, *dcHook) {
	id, err := strconv.Atoi(idText)
	if err != nil {
		return -1, nil
	}
	for i, h := range repo.hooks {
		if h.ID == id {
			return i, h
		}
	}
	return -1, nil
}

func dcHookNotFound(w http.ResponseWriter, id string) {
	dcError(w, http.StatusNotFound, excNoWebhook, "Webhook "+id+" does not exist.")
}

func (s *Server) dcGetHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	s.mu.Lock()
	_, h := findDCHook(repo, r.PathValue("webhookId"))
	var body map[string]any
	if h != nil {
		body = dcHookJSON(h)
	}
	s.mu.Unlock()
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dcUpdateHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo, f, ok := s.dcAdminRepoAndBody(w, r, tok)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, h := findDCHook(repo, r.PathValue("webhookId"))
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	updated := *h
	if field, msg := applyDCHook(&updated, f, false); field != "" {
		dcFieldError(w, field, msg)
		return
	}
	updated.Updated = time.Now().UTC()
	*h = updated
	writeJSON(w, http.StatusOK, dcHookJSON(h))
}

func (s *Server) dcDeleteHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	s.mu.Lock()
	i, h := findDCHook(repo, r.PathValue("webhookId"))
	if h != nil {
		repo.hooks = slices.Delete(repo.hooks, i, i+1)
	}
	s.mu.Unlock()
	if h == nil {
		dcHookNotFound(w, r.PathValue("webhookId"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dcTestHook is "Test connection": it sends an unsigned diagnostics:ping to ?url= (or
// to the hook named by ?webhookId=) and reports what came back.
func (s *Server) dcTestHook(w http.ResponseWriter, r *http.Request, tok dcToken) {
	repo := s.dcRepoFor(w, r, tok, levelAdmin)
	if repo == nil {
		return
	}
	target := r.URL.Query().Get("url")
	hookID := ""
	if id := r.URL.Query().Get("webhookId"); id != "" {
		s.mu.Lock()
		_, h := findDCHook(repo, id)
		if h != nil && target == "" {
			target = h.URL
		}
		s.mu.Unlock()
		if h == nil {
			dcHookNotFound(w, id)
			return
		}
		hookID = id
	}
	if target == "" {
		dcFieldError(w, "url", "A URL to test is required.")
		return
	}
	d := s.deliverDCPing(r.Context(), hookID, target)
	reqHeaders := map[string]any{}
	for k, v := range d.RequestHeaders {
		reqHeaders[k] = v
	}
	body := map[string]any{
		"request": map[string]any{"url": target, "method": "POST", "headers": reqHeaders, "body": d.RequestBody},
	}
	if d.Error != "" {
		body["exception"] = map[string]any{"message": d.Error}
	} else {
		body["response"] = map[string]any{"statusCode": d.Status, "headers": map[string]any{}, "body": d.ResponseBody}
	}
	writeJSON(w, http.StatusOK, body)
}
