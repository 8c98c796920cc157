// Package auth owns who the caller is: the API key format, authenticating a
// request's Bearer key, the principal with its roles and the rules of effective
// roles over the space tree, the first admin key of an empty database, and the
// parameters of the limit on failed authentications (httpguard.FailureLimiter). It
// may import store, httpx and internal/httpguard, nothing else of the server.
package auth

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
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
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

// Principal is the authenticated caller of one request. Role checks read only the
// ancestry of the space concerned (one query per space, cached for the request), so
// their cost does not grow with the number of spaces.
type Principal struct {
	key   store.APIKey
	roles map[string]int // space id -> rank of the key's direct role there
	st    store.Store
	ctx   context.Context
	// chains caches SpaceAncestry per space id; a nil entry means "no such space".
	chains map[string][]store.Space
}

// NewPrincipal is the caller holding key, for one request (ctx).
func NewPrincipal(ctx context.Context, st store.Store, key store.APIKey) *Principal {
	roles := make(map[string]int, len(key.Roles))
	for _, b := range key.Roles {
		roles[b.SpaceID] = max(roles[b.SpaceID], RoleRank[b.Role])
	}
	return &Principal{key: key, roles: roles, st: st, ctx: ctx, chains: map[string][]store.Space{}}
}

// Key is the caller's API key (its hash included).
func (p *Principal) Key() store.APIKey { return p.key }

// DirectRank is the rank of the key's own role on the space (0: none).
func (p *Principal) DirectRank(spaceID string) int { return p.roles[spaceID] }

// RoleRank orders the roles: read 1, write 2, admin 3.
var RoleRank = map[store.Role]int{store.RoleRead: 1, store.RoleWrite: 2, store.RoleAdmin: 3}

// Ancestry is the space and its ancestors up to root, nearest first; nil when the
// space does not exist.
func (p *Principal) Ancestry(spaceID string) ([]store.Space, error) {
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

// Exists reports whether the space exists (whatever the caller may do there).
func (p *Principal) Exists(spaceID string) (bool, error) {
	chain, err := p.Ancestry(spaceID)
	return chain != nil, err
}

// EffectiveRole is the highest of the key's direct role on the space and, when the
// space inherits entities, its effective role on the parent. Admin on root is admin
// everywhere: it can mint a key with any role anyway, and its creator must be able to
// manage a space created without inherit_entities. A missing space ranks 0.
func (p *Principal) EffectiveRole(spaceID string) (int, error) {
	chain, err := p.Ancestry(spaceID)
	if err != nil || chain == nil {
		return 0, err
	}
	if p.RootAdmin() {
		return RoleRank[store.RoleAdmin], nil
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

// RootAdmin reports admin on root, which is admin everywhere.
func (p *Principal) RootAdmin() bool {
	return p.roles[store.RootSpaceID] == RoleRank[store.RoleAdmin]
}

// Can reports whether the caller holds at least role on the space; false when the
// space does not exist.
func (p *Principal) Can(spaceID string, role store.Role) (bool, error) {
	rank, err := p.EffectiveRole(spaceID)
	return rank >= RoleRank[role] && rank > 0, err
}

// RequireRole answers 404 when the caller cannot even read the space (existence is
// not revealed) and 403 when it can read but its role is below need.
func (p *Principal) RequireRole(spaceID string, need store.Role, what string) error {
	rank, err := p.EffectiveRole(spaceID)
	switch {
	case err != nil:
		return err
	case rank < RoleRank[store.RoleRead]:
		return httpx.NotFound(what)
	case rank < RoleRank[need]:
		return httpx.Permission(fmt.Sprintf("this operation needs the %s role on space %q", need, spaceID))
	}
	return nil
}

// Authenticate resolves the Bearer key of r. Every failure is the same 401 shape, so a
// caller learns nothing about which keys exist.
func Authenticate(r *http.Request, st store.Store) (*Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, httpx.Unauthenticated("missing Authorization: Bearer <api key> header")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, httpx.Unauthenticated("Authorization header must be Bearer <api key>")
	}
	id, secret, err := ParseAPIKey(strings.TrimSpace(token))
	if err != nil {
		return nil, httpx.Unauthenticated("malformed API key")
	}
	key, err := st.GetAPIKey(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, httpx.Unauthenticated("unknown or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(key.SecretHash, hashKeySecret(secret)) != 1 {
		return nil, httpx.Unauthenticated("unknown or revoked API key")
	}
	return NewPrincipal(r.Context(), st, key), nil
}

// warnBootstrapKeyIgnored tells the operator that ORBIT_BOOTSTRAP_KEY did nothing:
// the database already had keys, so the variable may be removed (and a key meant
// to be new was not installed).
func warnBootstrapKeyIgnored(ctx context.Context, st store.Store, logger *slog.Logger, configuredKey string) {
	installed := false
	id, secret, err := ParseAPIKey(configuredKey)
	if err == nil {
		if existing, gerr := st.GetAPIKey(ctx, id); gerr == nil {
			installed = subtle.ConstantTimeCompare(existing.SecretHash, hashKeySecret(secret)) == 1
		}
	}
	logger.Warn("ORBIT_BOOTSTRAP_KEY is set but the database already has API keys: it is used only on an "+
		"empty database and was ignored; unset it", "key_id", id, "key_installed", installed)
}

// msgBootstrapLost is logged by a replica that found the database empty at start
// but whose first admin key was not installed because another replica's was.
const msgBootstrapLost = "another replica installed the first admin API key while this one started; " +
	"this one created and printed none"

// Bootstrap creates the first admin key on an empty database: the configured one, or
// a generated one printed once to out. Replicas starting together on one empty
// database all find it empty; store.CreateFirstAPIKey lets exactly one of them
// install its key, and only that one prints.
func Bootstrap(ctx context.Context, st store.Store, logger *slog.Logger, configuredKey string, out io.Writer) error {
	n, err := st.CountAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		if configuredKey != "" {
			warnBootstrapKeyIgnored(ctx, st, logger, configuredKey)
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
	created, err := st.CreateFirstAPIKey(ctx, store.APIKey{
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
			logger.Info(msgBootstrapLost)
			return nil
		}
		// The same configured key (all replicas share ORBIT_BOOTSTRAP_KEY) is fine;
		// another key is what a database that already had keys gets: a warning.
		if existing, gerr := st.GetAPIKey(ctx, id); gerr == nil && subtle.ConstantTimeCompare(existing.SecretHash, hash) == 1 {
			logger.Info("another replica installed ORBIT_BOOTSTRAP_KEY while this one started", "key_id", id)
			return nil
		}
		warnBootstrapKeyIgnored(ctx, st, logger, configuredKey)
		return nil
	}
	logger.Info("bootstrap admin key created", "key_id", id, "from_env", configuredKey != "")
	if configuredKey == "" {
		fmt.Fprintf(out, "orbit-server: created the first admin API key; it is shown only this once:\n\n    %s\n\n", key)
	}
	return nil
}
