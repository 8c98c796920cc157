package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching API requests fail or slow down. See CONTROL.md.
type Fault struct {
	ID         int     `json:"id"`
	Status     int     `json:"status,omitempty"`
	RetryAfter *int    `json:"retry_after,omitempty"`
	LatencyMS  int     `json:"latency_ms,omitempty"`
	Count      int     `json:"count,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
	PathPrefix string  `json:"path_prefix,omitempty"`
	Method     string  `json:"method,omitempty"`
	// Served is how many requests this fault has hit so far.
	Served int `json:"served"`
	// seen counts matching requests, for the deterministic ratio.
	seen int
}

type faultTable struct {
	nextID int
	faults []*Fault
}

func validFaultStatus(code int) bool {
	switch code {
	case 0, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// AddFault registers a fault and returns its id.
func (s *Server) AddFault(f Fault) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.nextID++
	f.ID = s.faults.nextID
	f.Served, f.seen = 0, 0
	if f.Count <= 0 && f.Ratio <= 0 {
		f.Count = 1
	}
	f.Method = strings.ToUpper(f.Method)
	s.faults.faults = append(s.faults.faults, &f)
	return f.ID
}

// Faults lists the registered faults.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults.faults))
	for _, f := range s.faults.faults {
		out = append(out, *f)
	}
	return out
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.faults = nil
}

func (s *Server) removeFault(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults.faults {
		if f.ID == id {
			s.faults.faults = append(s.faults.faults[:i], s.faults.faults[i+1:]...)
			return true
		}
	}
	return false
}

// pickFault returns the first fault that fires for r, counting it; nil when none does.
func (s *Server) pickFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < len(s.faults.faults); i++ {
		f := s.faults.faults[i]
		if f.PathPrefix != "" && !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		f.seen++
		fire := true
		if f.Ratio > 0 {
			// Of the first n matching requests exactly floor(n*ratio) fail, spread evenly.
			fire = int(float64(f.seen)*f.Ratio) > int(float64(f.seen-1)*f.Ratio)
		}
		if !fire {
			continue
		}
		f.Served++
		hit := *f
		if f.Count > 0 && f.Served >= f.Count {
			s.faults.faults = append(s.faults.faults[:i], s.faults.faults[i+1:]...)
		}
		return &hit
	}
	return nil
}

// applyFault serves a fault for r when one fires; it reports whether it answered.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	f := s.pickFault(r)
	if f == nil {
		return false
	}
	sleepCtx(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond)
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != nil {
		w.Header().Set("Retry-After", strconv.Itoa(*f.RetryAfter))
	}
	message := http.StatusText(f.Status)
	if f.Status == http.StatusTooManyRequests {
		message = "Rate limit for this resource has been exceeded"
	}
	if strings.HasPrefix(r.URL.Path, "/2.0/") {
		cloudError(w, f.Status, message, "")
	} else {
		dcError(w, f.Status, "com.atlassian.bitbucket.ServiceException", message)
	}
	return true
}
