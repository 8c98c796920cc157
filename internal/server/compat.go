package server

import (
	"context"
	"net/netip"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/api"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/receiver"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/worker"
)

// What cmd/orbit-server and the tests configure the server with, under the names
// they have always used; each is defined in the part that owns it.

// Credential checks (vcs).
type (
	CredentialChecker = vcs.CredentialChecker
	CredentialCheck   = vcs.CredentialCheck
	BitbucketChecker  = vcs.BitbucketChecker
)

// Reasons a CredentialCheck reports (vcs).
const (
	CheckOK             = vcs.CheckOK
	CheckBadCredentials = vcs.CheckBadCredentials
	CheckMissingScope   = vcs.CheckMissingScope
	CheckNotFound       = vcs.CheckNotFound
	CheckUnreachable    = vcs.CheckUnreachable
	CheckSkipped        = vcs.CheckSkipped
	CheckTLSError       = vcs.CheckTLSError
	CheckNotBitbucket   = vcs.CheckNotBitbucket
	CheckHostNotAllowed = vcs.CheckHostNotAllowed
)

// Defaults of Config.
const (
	DefaultMaxSpaces           = api.DefaultMaxSpaces
	DefaultMaxSpaceDepth       = api.DefaultMaxSpaceDepth
	DefaultMaxLabels           = api.DefaultMaxLabels
	DefaultAuthFailureBurst    = auth.DefaultAuthFailureBurst
	DefaultAuthFailureInterval = auth.DefaultAuthFailureInterval
	DefaultQueueLease          = worker.DefaultQueueLease
	DefaultQueuePollInterval   = worker.DefaultQueuePollInterval
	DefaultWebhookSecretGrace  = 24 * time.Hour
	DefaultWebhookMaxBody      = receiver.DefaultMaxBody
	DefaultShutdownDelay       = 5 * time.Second
	DefaultDrainTimeout        = 15 * time.Second
)

// ErrKeyMismatch is returned by New when the secret key does not open the data
// already in the database.
var ErrKeyMismatch = secrets.ErrKeyMismatch

// RekeyResult says what Rekey changed.
type RekeyResult = secrets.RekeyResult

// Rekey re-seals every secret in the database db with newKey (see secrets.Rekey).
// No server may be running on db.
func Rekey(ctx context.Context, db string, oldKey, newKey []byte) (RekeyResult, error) {
	st, err := openStore(ctx, db, true)
	if err != nil {
		return RekeyResult{}, err
	}
	defer st.Close()
	return secrets.Rekey(ctx, st, oldKey, newKey)
}

// ParseTrustedProxies parses the --trusted-proxies list (see httpx.ParseTrustedProxies).
func ParseTrustedProxies(list string) ([]netip.Prefix, error) { return httpx.ParseTrustedProxies(list) }

// NewAPIKey returns a fresh key string with its id and the hash to store.
func NewAPIKey() (key, id string, secretHash []byte, err error) { return auth.NewAPIKey() }

// ParseAPIKey splits a key into its id and secret part.
func ParseAPIKey(key string) (id, secret string, err error) { return auth.ParseAPIKey(key) }

// OpenAPIDocument returns the embedded OpenAPI description of the API.
func OpenAPIDocument() []byte { return api.OpenAPIDocument() }
