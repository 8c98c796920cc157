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

// principal is the authenticated caller of one request. Role checks read only the
// ancestry of the space concerned (one query per space, cached for the request), so
// their cost does not grow with the number of spaces.
type principal struct {
	key   store.APIKey
	roles map[string]int // space id -> rank of the key's direct role there
	st    store.Store
	ctx   context.Context
	// chains caches SpaceAncestry per space id; a nil entry means "no such space".
	chains map[string][]store.Space
	// limits are the server's quotas, for validating what the caller sends.
	limits limits
}

func newPrincipal(ctx context.Context, st store.Store, key store.APIKey, lim limits) *principal {
	roles := make(map[string]int, len(key.Roles))
	for _, b := range key.Roles {
		roles[b.SpaceID] = max(roles[b.SpaceID], roleRank[b.Role])
	}
	return &principal{key: key, roles: roles, st: st, ctx: ctx, chains: map[string][]store.Space{}, limits: lim}
}

var roleRank = map[store.Role]int{store.RoleRead: 1, store.RoleWrite: 2, store.RoleAdmin: 3}

// ancestry is the space and its ancestors up to root, nearest first; nil when the
// space does not exist.
func (p *principal) ancestry(spaceID string) ([]store.Space, error) {
	if chain, ok := p.chains[spaceID]; ok {
		return chain, nil
	}
	chain, err := p.st.SpaceAncestry(p.ctx, spaceID)
	if errors.Is(err, store.ErrNotFound) {
		chain, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.chains[spaceID] = chain
	return chain, nil
}

// exists reports whether the space exists (whatever the caller may do there).
func (p *principal) exists(spaceID string) (bool, error) {
	chain, err := p.ancestry(spaceID)
	return chain != nil, err
}

// effectiveRole is the highest of the key's direct role on the space and, when the
// space inherits entities, its effective role on the parent. Admin on root is admin
// everywhere: it can mint a key with any role anyway, and its creator must be able to
// manage a space created without inherit_entities. A missing space ranks 0.
func (p *principal) effectiveRole(spaceID string) (int, error) {
	chain, err := p.ancestry(spaceID)
	if err != nil || chain == nil {
		return 0, err
	}
	if p.rootAdmin() {
		return roleRank[store.RoleAdmin], nil
	}
	best := 0
	for _, sp := range chain {
		best = max(best, p.roles[sp.ID])
		if !sp.InheritEntities {
			break
		}
	}
	return best, nil
}

func (p *principal) rootAdmin() bool {
	return p.roles[store.RootSpaceID] == roleRank[store.RoleAdmin]
}

// can reports whether the caller holds at least role on the space; false when the
// space does not exist.
func (p *principal) can(spaceID string, role store.Role) (bool, error) {
	rank, err := p.effectiveRole(spaceID)
	return rank >= roleRank[role] && rank > 0, err
}

// requireRole answers 404 when the caller cannot even read the space (existence is
// not revealed) and 403 when it can read but its role is below need.
func (p *principal) requireRole(spaceID string, need store.Role, what string) error {
	rank, err := p.effectiveRole(spaceID)
	switch {
	case err != nil:
		return err
	case rank < roleRank[store.RoleRead]:
		return errNotFound(what)
	case rank < roleRank[need]:
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
	return newPrincipal(r.Context(), s.store, key, s.limits), nil
}

// warnBootstrapKeyIgnored tells the operator that ORBIT_BOOTSTRAP_KEY did nothing:
// the database already had keys, so the variable may be removed (and a key meant
// to be new was not installed).
func (s *Server) warnBootstrapKeyIgnored(ctx context.Context, configuredKey string) {
	installed := false
	id, secret, err := ParseAPIKey(configuredKey)
	if err == nil {
		if existing, gerr := s.store.GetAPIKey(ctx, id); gerr == nil {
			installed = subtle.ConstantTimeCompare(existing.SecretHash, hashKeySecret(secret)) == 1
		}
	}
	s.logger.Warn("ORBIT_BOOTSTRAP_KEY is set but the database already has API keys: it is used only on an "+
		"empty database and was ignored; unset it", "key_id", id, "key_installed", installed)
}

// msgBootstrapLost is logged by a replica that found the database empty at start
// but whose first admin key was not installed because another replica's was.
const msgBootstrapLost = "another replica installed the first admin API key while this one started; " +
	"this one created and printed none"

// bootstrap creates the first admin key on an empty database: the configured one, or
// a generated one printed once to out. Replicas starting together on one empty
// database all find it empty; store.CreateFirstAPIKey lets exactly one of them
// install its key, and only that one prints.
func (s *Server) bootstrap(ctx context.Context, configuredKey string, out io.Writer) error {
	n, err := s.store.CountAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		if configuredKey != "" {
			s.warnBootstrapKeyIgnored(ctx, configuredKey)
		}
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
	created, err := s.store.CreateFirstAPIKey(ctx, store.APIKey{
		ID:         id,
		Name:       "bootstrap-admin",
		SecretHash: hash,
		Roles:      []store.RoleBinding{{SpaceID: store.RootSpaceID, Role: store.RoleAdmin}},
	})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !created {
		// Another replica installed a key between our count and our create.
		if configuredKey == "" {
			s.logger.Info(msgBootstrapLost)
			return nil
		}
		// The same configured key (all replicas share ORBIT_BOOTSTRAP_KEY) is fine;
		// another key is what a database that already had keys gets: a warning.
		if existing, gerr := s.store.GetAPIKey(ctx, id); gerr == nil && subtle.ConstantTimeCompare(existing.SecretHash, hash) == 1 {
			s.logger.Info("another replica installed ORBIT_BOOTSTRAP_KEY while this one started", "key_id", id)
			return nil
		}
		s.warnBootstrapKeyIgnored(ctx, configuredKey)
		return nil
	}
	s.logger.Info("bootstrap admin key created", "key_id", id, "from_env", configuredKey != "")
	if configuredKey == "" {
		fmt.Fprintf(out, "orbit-server: created the first admin API key; it is shown only this once:\n\n    %s\n\n", key)
	}
	return nil
}
