// Package runpage serves the HTML page of a run: the page every commit status
// links to. A person who follows the link from Bitbucket has no API key, so the
// link is a capability: an unguessable secret per run, derived by the server from
// its secret key and a stored nonce, of which the store keeps only the SHA-256.
// A wrong or revoked link is a plain 404 that says nothing more. API-key holders
// get the same page at a stable URL (GET /api/v1/runs/{id}/page, served by the
// api package through the RunPages interface it declares).
//
// It may import store, secrets, vcs, httpx and httpguard; the server root wires
// it into the api (its public route and the RunPages interface) and the worker
// (the link of each commit status). It imports no other part of the server.
package runpage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// PublicPath is the route of a run page reached by its capability link.
const PublicPath = "/run-pages/{token}"

// tokenLen is the length of a link's secret: base64url (no padding) of 32 bytes.
const tokenLen = 43

// Failed lookups of links from one client: a burst, then one a second. A link has
// 256 bits, so this is not what keeps it secret; it keeps a scanner from costing
// a database read per request.
const (
	failureBurst    = 30
	failureInterval = time.Second
)

// Config is what Pages is built from.
type Config struct {
	Store     store.Store
	Box       *secrets.Box
	PublicURL string
	// TrustedProxies: see server.Config.TrustedProxies (normalized).
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
}

// Pages builds the links of run pages and serves the pages.
type Pages struct {
	store          store.Store
	publicURL      string
	key            []byte
	trustedProxies []netip.Prefix
	logger         *slog.Logger
	failures       *httpguard.FailureLimiter
	// lookups bounds the concurrent unauthenticated page renders.
	lookups *httpguard.Gate
}

// New builds Pages.
func New(cfg Config) *Pages {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Pages{
		store: cfg.Store, publicURL: cfg.PublicURL, key: cfg.Box.DeriveKey("orbit run page link"),
		trustedProxies: cfg.TrustedProxies, logger: logger,
		failures: httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: failureBurst, Interval: failureInterval}),
		lookups:  httpguard.NewGate(httpguard.DefaultGateSlots()),
	}
}

// Routes are the public route of the pages, for the API's route table.
func (p *Pages) Routes() []httpx.Route {
	return []httpx.Route{{Method: "GET", Path: PublicPath, Resource: "run", Handle: p.servePublic}}
}

// StableURL is the page of a run for API-key holders.
func (p *Pages) StableURL(runID string) string {
	return p.publicURL + "/api/v1/runs/" + runID + "/page"
}

// token derives the secret of a link: HMAC-SHA256 of the run and the nonce under
// the server's key, so that a status post can rebuild it and the database alone
// cannot.
func (p *Pages) token(runID, nonce string) string {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte("run page\x00" + runID + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (p *Pages) publicURLOf(token string) string { return p.publicURL + "/run-pages/" + token }

// Link is the capability link of run's page, made on first use; "" when the link
// was revoked (the status then links to StableURL). After a rekey the derived
// secret changes: the stored hash follows, and the old link stops working.
func (p *Pages) Link(ctx context.Context, run store.Run) (string, error) {
	l, err := p.store.GetRunPageLink(ctx, run.ID)
	if errors.Is(err, store.ErrNotFound) {
		nonce := store.RandomToken()
		l, err = p.store.PutRunPageLink(ctx, store.RunPageLink{RunID: run.ID, Nonce: nonce,
			TokenHash: hashToken(p.token(run.ID, nonce))}, true)
	}
	if err != nil {
		return "", err
	}
	if l.Revoked {
		return "", nil
	}
	token := p.token(run.ID, l.Nonce)
	if hashToken(token) != l.TokenHash {
		l.TokenHash = hashToken(token)
		if _, err := p.store.PutRunPageLink(ctx, l, false); err != nil {
			return "", err
		}
	}
	return p.publicURLOf(token), nil
}

// AddLinks makes, in one transaction, the links of the runs that have none yet, so
// that Link then only reads them: the worker calls it for a batch of status jobs
// (each link made alone is a write transaction of its own, a disk sync on SQLite).
func (p *Pages) AddLinks(ctx context.Context, runIDs []string) error {
	ls := make([]store.RunPageLink, 0, len(runIDs))
	for _, id := range runIDs {
		nonce := store.RandomToken()
		ls = append(ls, store.RunPageLink{RunID: id, Nonce: nonce, TokenHash: hashToken(p.token(id, nonce))})
	}
	return p.store.AddRunPageLinks(ctx, ls)
}

// StatusURL is the link a commit status of run carries: its capability link, or
// the stable URL when the link was revoked.
func (p *Pages) StatusURL(ctx context.Context, run store.Run) (string, error) {
	link, err := p.Link(ctx, run)
	if err != nil || link != "" {
		return link, err
	}
	return p.StableURL(run.ID), nil
}

// Reissue replaces the run's link with a new one (the old one stops working) and
// returns it.
func (p *Pages) Reissue(ctx context.Context, runID string) (string, error) {
	nonce := store.RandomToken()
	token := p.token(runID, nonce)
	if _, err := p.store.PutRunPageLink(ctx, store.RunPageLink{RunID: runID, Nonce: nonce, TokenHash: hashToken(token)}, false); err != nil {
		return "", err
	}
	return p.publicURLOf(token), nil
}

// Revoke makes the run's link answer 404; statuses posted later link to StableURL.
func (p *Pages) Revoke(ctx context.Context, runID string) error {
	return p.store.RevokeRunPageLink(ctx, runID)
}

// servePublic is GET /run-pages/{token}. Whatever is wrong with the link (shape,
// unknown, revoked, its run deleted), the answer is the same plain 404.
func (p *Pages) servePublic(w http.ResponseWriter, r *http.Request) error {
	client := httpx.ClientAddress(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), p.trustedProxies)
	if wait := p.failures.RetryAfter(client); wait > 0 {
		httpguard.SetRetryAfter(w, wait)
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return nil
	}
	release, ok := p.lookups.TryAcquire()
	if !ok {
		httpguard.SetRetryAfter(w, time.Second)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return nil
	}
	defer release()
	token := r.PathValue("token")
	if len(token) != tokenLen {
		p.failures.Failed(client)
		notFound(w, r)
		return nil
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		p.failures.Failed(client)
		notFound(w, r)
		return nil
	}
	run, err := p.store.RunByPageToken(r.Context(), hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		p.failures.Failed(client)
		notFound(w, r)
		return nil
	}
	if err != nil {
		return err
	}
	return p.Render(w, r, run)
}

// notFound is the answer to every link that does not open a page: the same bytes
// as a path that does not exist, with the page's headers.
func notFound(w http.ResponseWriter, r *http.Request) {
	setHeaders(w.Header())
	http.NotFound(w, r)
}
