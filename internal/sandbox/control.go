package sandbox

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Control API under /_sandbox/ (see CONTROL.md). No auth, never faulted.

func (s *Server) registerControl(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sandbox/seed", s.ctlSeed)
	mux.HandleFunc("POST /_sandbox/events", s.ctlFire)
	mux.HandleFunc("POST /_sandbox/rename", s.ctlRename)
	mux.HandleFunc("GET /_sandbox/deliveries", s.ctlDeliveries)
	mux.HandleFunc("DELETE /_sandbox/deliveries", func(w http.ResponseWriter, r *http.Request) {
		s.ClearDeliveries()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sandbox/faults", s.ctlAddFault)
	mux.HandleFunc("GET /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
	})
	mux.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sandbox/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || !s.removeFault(id) {
			ctlError(w, http.StatusNotFound, "no fault with id "+r.PathValue("id"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sandbox/requests", func(w http.ResponseWriter, r *http.Request) {
		reqs := s.Requests()
		if reqs == nil {
			reqs = []RequestRecord{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": reqs})
	})
	mux.HandleFunc("DELETE /_sandbox/requests", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqLog = nil
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sandbox/hooks", s.ctlHooks)
	mux.HandleFunc("GET /_sandbox/statuses", s.ctlStatuses)
	mux.HandleFunc("POST /_sandbox/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		ctlError(w, http.StatusNotFound, "no control endpoint "+r.Method+" "+r.URL.Path)
	})
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

func decodeStrict(r *http.Request, into any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 8<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

func (s *Server) ctlSeed(w http.ResponseWriter, r *http.Request) {
	var seed Seed
	if err := decodeStrict(r, &seed); err != nil {
		ctlError(w, http.StatusBadRequest, "seed: "+err.Error())
		return
	}
	if err := s.Seed(seed); err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ctlFire(w http.ResponseWriter, r *http.Request) {
	var ev Event
	if err := decodeStrict(r, &ev); err != nil {
		ctlError(w, http.StatusBadRequest, "event: "+err.Error())
		return
	}
	deliveries, err := s.Fire(r.Context(), ev)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if deliveries == nil {
		deliveries = []Delivery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": deliveries})
}

func (s *Server) ctlDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []Delivery{}
	for _, d := range s.Deliveries() {
		if p := q.Get("product"); p != "" && d.Product != p {
			continue
		}
		if e := q.Get("event"); e != "" && d.Event != e {
			continue
		}
		if h := q.Get("hook"); h != "" && !strings.EqualFold(strings.Trim(d.Hook, "{}"), strings.Trim(h, "{}")) {
			continue
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeStrict(r, &f); err != nil {
		ctlError(w, http.StatusBadRequest, "fault: "+err.Error())
		return
	}
	switch {
	case !validFaultStatus(f.Status):
		ctlError(w, http.StatusBadRequest, "status: must be 429, 500, 502, 503, 504 or 0 (latency only)")
		return
	case f.Status == 0 && f.LatencyMS <= 0:
		ctlError(w, http.StatusBadRequest, "status: 0 needs latency_ms > 0")
		return
	case f.Ratio < 0 || f.Ratio > 1:
		ctlError(w, http.StatusBadRequest, "ratio: must be between 0 and 1")
		return
	case f.Count < 0 || f.LatencyMS < 0:
		ctlError(w, http.StatusBadRequest, "count and latency_ms: must not be negative")
		return
	case f.RetryAfter != nil && *f.RetryAfter < 0:
		ctlError(w, http.StatusBadRequest, "retry_after: must not be negative")
		return
	case strings.HasPrefix(f.PathPrefix, "/_sandbox"):
		ctlError(w, http.StatusBadRequest, "path_prefix: faults never apply to /_sandbox")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": s.AddFault(f)})
}

// HookView is a hook as GET /_sandbox/hooks shows it, secret included (tests only).
type HookView struct {
	Product    string   `json:"product"`
	Namespace  string   `json:"namespace"`
	Repository string   `json:"repository"`
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Active     bool     `json:"active"`
	Secret     string   `json:"secret"`
}

// Hooks lists every hook of both products.
func (s *Server) Hooks() []HookView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HookView
	for _, repo := range s.state.cloudRepos {
		for _, h := range repo.hooks {
			out = append(out, HookView{Product: "cloud", Namespace: repo.Workspace, Repository: repo.Slug, ID: h.UUID, URL: h.URL, Events: h.Events, Active: h.Active, Secret: h.Secret})
		}
	}
	for _, repo := range s.state.dcRepos {
		for _, h := range repo.hooks {
			out = append(out, HookView{Product: "datacenter", Namespace: repo.Project, Repository: repo.Slug, ID: strconv.Itoa(h.ID), URL: h.URL, Events: h.Events, Active: h.Active, Secret: h.secret()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Product+a.Namespace+a.Repository+a.ID < b.Product+b.Namespace+b.Repository+b.ID
	})
	return out
}

func (s *Server) ctlHooks(w http.ResponseWriter, r *http.Request) {
	cloud, dc := []HookView{}, []HookView{}
	for _, h := range s.Hooks() {
		if h.Product == "cloud" {
			cloud = append(cloud, h)
		} else {
			dc = append(dc, h)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cloud": cloud, "datacenter": dc})
}

// StatusView is a build status as GET /_sandbox/statuses shows it.
type StatusView struct {
	Product    string `json:"product"`
	Namespace  string `json:"namespace"`
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Key        string `json:"key"`
	State      string `json:"state"`
	Name       string `json:"name,omitempty"`
	URL        string `json:"url"`
}

// Statuses lists every build status of both products.
func (s *Server) Statuses() []StatusView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StatusView
	for _, repo := range s.state.cloudRepos {
		for commit, list := range repo.statuses {
			for _, st := range list {
				out = append(out, StatusView{Product: "cloud", Namespace: repo.Workspace, Repository: repo.Slug, Commit: commit, Key: st.Key, State: st.State, Name: st.Name, URL: st.URL})
			}
		}
	}
	for _, repo := range s.state.dcRepos {
		for commit, list := range repo.statuses {
			for _, st := range list {
				out = append(out, StatusView{Product: "datacenter", Namespace: repo.Project, Repository: repo.Slug, Commit: commit, Key: st.Key, State: st.State, Name: st.Name, URL: st.URL})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Product+a.Namespace+a.Repository+a.Commit+a.Key < b.Product+b.Namespace+b.Repository+b.Commit+b.Key
	})
	return out
}

func (s *Server) ctlStatuses(w http.ResponseWriter, r *http.Request) {
	cloud, dc := []StatusView{}, []StatusView{}
	for _, st := range s.Statuses() {
		if st.Product == "cloud" {
			cloud = append(cloud, st)
		} else {
			dc = append(dc, st)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cloud": cloud, "datacenter": dc})
}
