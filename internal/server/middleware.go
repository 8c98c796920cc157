package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"
)

type requestInfoKey struct{}

// requestInfo collects what the access log needs from deeper layers.
type requestInfo struct {
	requestID string
	keyID     string
	// internalErr is logged (not returned) for 500 answers. It never holds secrets:
	// only sealed values reach the store.
	internalErr error
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func newRequestID() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

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
func (s *Server) serveHTTP(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{requestID: r.Header.Get("X-Request-Id")}
		if !saneRequestID.MatchString(info.requestID) {
			info.requestID = newRequestID()
		}
		w.Header().Set("X-Request-Id", info.requestID)
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		sw := &statusWriter{ResponseWriter: w}

		_, pattern := mux.Handler(r)
		route := pattern
		if route == "" {
			route = "unmatched"
		}
		s.inflight.add(info.requestID, route)
		defer s.inflight.remove(info.requestID)
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				info.internalErr = fmt.Errorf("panic: %v", rec)
				if sw.status == 0 {
					writeAPIError(sw, &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.observe(route, status, elapsed)
			client, peer := s.clientAddr(r), peerAddr(r.RemoteAddr)
			attrs := []slog.Attr{
				slog.String("request_id", info.requestID),
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
			if info.keyID != "" {
				attrs = append(attrs, slog.String("key_id", info.keyID))
			}
			level := slog.LevelInfo
			if info.internalErr != nil {
				level = slog.LevelError
				attrs = append(attrs, slog.String("error", info.internalErr.Error()))
			}
			s.logger.LogAttrs(r.Context(), level, "http request", attrs...)
		}()

		if pattern == "" {
			probe := &discardWriter{header: http.Header{}}
			mux.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				if allow := probe.header.Get("Allow"); allow != "" {
					sw.Header().Set("Allow", allow)
				}
				writeAPIError(sw, &apiError{Status: http.StatusMethodNotAllowed, Code: codeInvalidArgument,
					Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)})
				return
			}
			writeAPIError(sw, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such route"})
			return
		}
		mux.ServeHTTP(sw, r)
	})
}
