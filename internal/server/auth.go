package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// API key format: orbit_<key id>_<43 chars base64url (no padding) of 32 random bytes>.
// Only SHA-256 of the last part is stored.
const (
	apiKeyPrefix    = "orbit_"
	apiKeySecretLen = 43
)

var apiKeyIDPattern = regexp.MustCompile(`^k_[a-z0-9]{1,40}$`)

var errMalformedKey = errors.New("malformed API key")

// ParseAPIKey splits a key into its id and secret part. It never includes the key in
// its error.
func ParseAPIKey(key string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(key, apiKeyPrefix)
	if !ok || len(rest) < apiKeySecretLen+2 {
		return "", "", errMalformedKey
	}
	secret = rest[len(rest)-apiKeySecretLen:]
	sep := rest[len(rest)-apiKeySecretLen-1]
	id = rest[:len(rest)-apiKeySecretLen-1]
	if sep != '_' || !apiKeyIDPattern.MatchString(id) {
		return "", "", errMalformedKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return "", "", errMalformedKey
	}
	return id, secret, nil
}

// NewAPIKey returns a fresh key string with its id and the hash to store.
func NewAPIKey() (key, id string, secretHash []byte, err error) {
	id, err = newKeyID()
	if err != nil {
		return "", "", nil, err
	}
	var raw [32]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return "", "", nil, err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	return apiKeyPrefix + id + "_" + secret, id, hashKeySecret(secret), nil
}

func newKeyID() (string, error) {
	var raw [10]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return "", err
	}
	return "k_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:])), nil
}

func hashKeySecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// principal is the authenticated caller of one request, with the space tree loaded
// once so role checks are consistent within the request.
type principal struct {
	key    store.APIKey
	spaces map[string]store.Space
}

var roleRank = map[store.Role]int{store.RoleRead: 1, store.RoleWrite: 2, store.RoleAdmin: 3}

// effectiveRole is the highest of the key's direct role on the space and, when the
// space inherits entities, its effective role on the parent. Admin on root is admin
// everywhere: it can mint a key with any role anyway, and its creator must be able to
// manage a space created without inherit_entities.
func (p *principal) effectiveRole(spaceID string) int {
	if p.rootAdmin() {
		return roleRank[store.RoleAdmin]
	}
	best := 0
	seen := map[string]bool{}
	for spaceID != "" && !seen[spaceID] {
		seen[spaceID] = true
		for _, b := range p.key.Roles {
			if b.SpaceID == spaceID && roleRank[b.Role] > best {
				best = roleRank[b.Role]
			}
		}
		sp, ok := p.spaces[spaceID]
		if !ok || !sp.InheritEntities {
			break
		}
		spaceID = sp.ParentSpaceID
	}
	return best
}

func (p *principal) rootAdmin() bool {
	for _, b := range p.key.Roles {
		if b.SpaceID == store.RootSpaceID && b.Role == store.RoleAdmin {
			return true
		}
	}
	return false
}

func (p *principal) can(spaceID string, role store.Role) bool {
	return p.effectiveRole(spaceID) >= roleRank[role]
}

// readableSpaceIDs lists every space the caller can read, for list filters.
func (p *principal) readableSpaceIDs() []string {
	ids := []string{}
	for id := range p.spaces {
		if p.can(id, store.RoleRead) {
			ids = append(ids, id)
		}
	}
	return ids
}

// requireRole answers 404 when the caller cannot even read the space (existence is
// not revealed) and 403 when it can read but its role is below need.
func (p *principal) requireRole(spaceID string, need store.Role, what string) error {
	if !p.can(spaceID, store.RoleRead) {
		return errNotFound(what)
	}
	if !p.can(spaceID, need) {
		return errPermission(fmt.Sprintf("this operation needs the %s role on space %q", need, spaceID))
	}
	return nil
}

// authenticate resolves the Bearer key of r. Every failure is the same 401 shape, so a
// caller learns nothing about which keys exist.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, errUnauthenticated("missing Authorization: Bearer <api key> header")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errUnauthenticated("Authorization header must be Bearer <api key>")
	}
	id, secret, err := ParseAPIKey(strings.TrimSpace(token))
	if err != nil {
		return nil, errUnauthenticated("malformed API key")
	}
	key, err := s.store.GetAPIKey(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnauthenticated("unknown or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(key.SecretHash, hashKeySecret(secret)) != 1 {
		return nil, errUnauthenticated("unknown or revoked API key")
	}
	spaces, err := s.loadSpaces(r.Context())
	if err != nil {
		return nil, err
	}
	return &principal{key: key, spaces: spaces}, nil
}

func (s *Server) loadSpaces(ctx context.Context) (map[string]store.Space, error) {
	all, err := s.store.AllSpaces(ctx)
	if err != nil {
		return nil, err
	}
	spaces := make(map[string]store.Space, len(all))
	for _, sp := range all {
		spaces[sp.ID] = sp
	}
	return spaces, nil
}

// bootstrap creates the first admin key on an empty database: the configured one, or
// a generated one printed once to out.
func (s *Server) bootstrap(ctx context.Context, configuredKey string, out io.Writer) error {
	n, err := s.store.CountAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return nil
	}
	key := configuredKey
	var id string
	var hash []byte
	if key != "" {
		var secret string
		id, secret, err = ParseAPIKey(key)
		if err != nil {
			return fmt.Errorf("bootstrap key: %w", err)
		}
		hash = hashKeySecret(secret)
	} else {
		key, id, hash, err = NewAPIKey()
		if err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	_, err = s.store.CreateAPIKey(ctx, store.APIKey{
		ID:         id,
		Name:       "bootstrap-admin",
		SecretHash: hash,
		Roles:      []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleAdmin}},
	})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	s.logger.Info("bootstrap admin key created", "key_id", id, "from_env", configuredKey != "")
	if configuredKey == "" {
		fmt.Fprintf(out, "orbit-server: created the first admin API key; it is shown only this once:\n\n    %s\n\n", key)
	}
	return nil
}
