package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discardWriter captures the status of the mux's own 404/405 answers so that they can
// be re-sent in the JSON error shape.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// serveHTTP is the outermost layer: request id, body cap, panic recovery, JSON errors
// for unmatched paths, access log and metrics.
func (s *API) serveHTTP(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &httpx.RequestInfo{RequestID: r.Header.Get("X-Request-Id")}
		if !httpx.SaneRequestID.MatchString(info.RequestID) {
			info.RequestID = httpx.NewRequestID()
		}
		w.Header().Set("X-Request-Id", info.RequestID)
		r = r.WithContext(httpx.WithInfo(r.Context(), info))
		_, pattern := mux.Handler(r)
		limit := int64(httpx.MaxBodyBytes)
		if l, ok := s.bodyLimits[pattern]; ok {
			limit = l
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		sw := &statusWriter{ResponseWriter: w}

		route := pattern
		if route == "" {
			route = "unmatched"
		}
		s.inflight.Add(info.RequestID, route)
		defer s.inflight.Remove(info.RequestID)
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				info.InternalErr = fmt.Errorf("panic: %v", rec)
				if sw.status == 0 {
					httpx.WriteError(sw, &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.Observe(route, status, elapsed)
			client, peer := s.clientAddr(r), httpx.PeerAddr(r.RemoteAddr)
			attrs := []slog.Attr{
				slog.String("request_id", info.RequestID),
				slog.String("client", client),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			}
			if peer != client {
				// The client came through a trusted proxy: name the proxy too.
				attrs = append(attrs, slog.String("peer", peer))
			}
			if info.KeyID != "" {
				attrs = append(attrs, slog.String("key_id", info.KeyID))
			}
			level, logger := slog.LevelInfo, s.logger
			if info.InternalErr != nil {
				level = slog.LevelError
				attrs = append(attrs, slog.String("error", info.InternalErr.Error()))
			} else if status >= 400 && info.KeyID == "" {
				// Refused before anyone was authenticated: a flood must not fill the disk.
				logger = s.refusedLog
			}
			logger.LogAttrs(r.Context(), level, "http request", attrs...)
		}()

		if pattern == "" {
			probe := &discardWriter{header: http.Header{}}
			mux.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				if allow := probe.header.Get("Allow"); allow != "" {
					sw.Header().Set("Allow", allow)
				}
				httpx.WriteError(sw, &apiError{Status: http.StatusMethodNotAllowed, Code: httpx.CodeInvalidArgument,
					Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
				return
			}
			httpx.WriteError(sw, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such route"})
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// clientAddr is the address a request counts as coming from, for the failed
// authentication limit and the access log alike: see httpx.ClientAddress.
func (s *API) clientAddr(r *http.Request) string {
	return httpx.ClientAddress(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.trustedProxies)
}
