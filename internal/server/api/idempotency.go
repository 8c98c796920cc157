package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Idempotent creates (API.md "Idempotency-Key"). A POST that carries an
// Idempotency-Key is answered once: the answer is stored, sealed, with the caller's key
// id, in the same transaction as the object it created, and a repeat within 24 h (a
// client retry after a lost answer) gets that answer again instead of a second object.
// Reusing a key for a different request is a 422.
//
// Handlers take part by writing their answer through respondCreated; the gate in wrap
// answers repeats before the handler runs.

const (
	idempotencyHeader = "Idempotency-Key"
	// replayedHeader marks an answer that was stored for an earlier request.
	replayedHeader = "Idempotent-Replayed"

	codeIdempotencyKeyReused = "idempotency_key_reused"
)

var saneIdempotencyKey = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

type idempotencyCtxKey struct{}

// idempotentRequest is a POST that carries an Idempotency-Key not seen before.
type idempotentRequest struct {
	keyID string // the caller's API key id
	key   string // the Idempotency-Key
	hash  string // requestHash of method, path, query and body
}

// requestHash is keyed with a key derived from the server's secret key: the body may
// hold a credential, and an unkeyed hash of it would be a guessing oracle.
func (s *API) requestHash(r *http.Request, body []byte) string {
	mac := hmac.New(sha256.New, s.idempotencyHashKey)
	mac.Write(secretbox.AssociatedData(r.Method, r.URL.Path, r.URL.RawQuery))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// idempotencyGate runs before an authenticated handler. For a POST without the header
// it does nothing. Otherwise it answers a repeat (or a reuse with another body) itself
// and returns handled = true, or returns the request carrying the key for
// respondCreated.
func (s *API) idempotencyGate(w http.ResponseWriter, r *http.Request, p *principal) (*http.Request, bool, error) {
	key := r.Header.Get(idempotencyHeader)
	if r.Method != http.MethodPost || key == "" {
		return r, false, nil
	}
	if !saneIdempotencyKey.MatchString(key) {
		return r, false, invalidArg(idempotencyHeader, "the Idempotency-Key header must be 1-255 printable ASCII characters")
	}
	body, err := httpx.ReadBody(r)
	if err != nil {
		return r, false, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := &idempotentRequest{keyID: p.Key().ID, key: key, hash: s.requestHash(r, body)}
	rec, err := s.store.GetIdempotencyRecord(r.Context(), req.keyID, req.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return r.WithContext(context.WithValue(r.Context(), idempotencyCtxKey{}, req)), false, nil
	case err != nil:
		return r, false, err
	}
	return r, true, s.replay(w, req, rec)
}

// replay writes a stored answer, or the 422 for a key reused with another request.
func (s *API) replay(w http.ResponseWriter, req *idempotentRequest, rec store.IdempotencyRecord) error {
	if !hmac.Equal([]byte(rec.RequestHash), []byte(req.hash)) {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeIdempotencyKeyReused, Field: idempotencyHeader,
			Message: "this Idempotency-Key was already used for a different request; send a new key for a new request"}
	}
	body, err := s.box.OpenAnswer(rec.SealedResponse, rec.APIKeyID, rec.Key)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(replayedHeader, "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(body)
	return nil
}

// respondCreated runs a create's store writes (write, which must use the context it is
// given) and writes its answer with status. When the request carries an
// Idempotency-Key, the writes and the stored answer commit in one transaction; a
// concurrent repeat that got there first is answered with its stored answer.
func (s *API) respondCreated(w http.ResponseWriter, r *http.Request, status int, write func(ctx context.Context) (any, error)) error {
	req, ok := r.Context().Value(idempotencyCtxKey{}).(*idempotentRequest)
	if !ok {
		answer, err := write(r.Context())
		if err != nil {
			return err
		}
		writeJSON(w, status, answer)
		return nil
	}
	var body []byte
	rec, replayed, err := s.store.Idempotent(r.Context(),
		store.IdempotencyRecord{APIKeyID: req.keyID, Key: req.key, RequestHash: req.hash},
		func(ctx context.Context) (store.IdempotencyRecord, error) {
			answer, err := write(ctx)
			if err != nil {
				return store.IdempotencyRecord{}, err
			}
			if body, err = json.Marshal(answer); err != nil {
				return store.IdempotencyRecord{}, err
			}
			body = append(body, '\n')
			sealed, err := s.box.SealAnswer(body, req.keyID, req.key)
			if err != nil {
				return store.IdempotencyRecord{}, err
			}
			return store.IdempotencyRecord{Status: status, SealedResponse: sealed}, nil
		})
	if err != nil {
		return err
	}
	if replayed {
		return s.replay(w, req, rec)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}
