package vcs

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Reasons a CredentialCheck reports (API.md, POST /integrations/{id}/validate).
const (
	CheckOK             = "ok"
	CheckBadCredentials = "bad_credentials"
	CheckMissingScope   = "missing_scope"
	CheckNotFound       = "not_found"
	CheckUnreachable    = "unreachable"
	CheckSkipped        = "skipped"
	// CheckTLSError: the TLS handshake with api_host failed.
	CheckTLSError = "tls_error"
	// CheckNotBitbucket: api_host answered, but not as Bitbucket.
	CheckNotBitbucket = "not_bitbucket"
	// CheckHostNotAllowed: the egress policy refused the destination.
	CheckHostNotAllowed = "host_not_allowed"
)

// CredentialCheck is the outcome of checking an integration's credential against
// Bitbucket. Message is shown to the caller as is, so it must never contain the
// credential.
type CredentialCheck struct {
	Valid   bool
	Reason  string // ok|bad_credentials|missing_scope|not_found|unreachable|tls_error|not_bitbucket|host_not_allowed|skipped
	Message string
	// Detail is the raw outcome (network error, status, Bitbucket's own message) for
	// the server log, with the request id. It never goes to the caller, and must not
	// contain the credential either.
	Detail string
}

// CredentialChecker verifies a credential against the product an integration points
// at (server.Config.CredentialChecker; BitbucketChecker asks the integration's kind). in carries the integration's non-secret fields (host, email, username, auth
// method); credential is the plaintext api_token, app_password or access_token.
type CredentialChecker interface {
	Check(ctx context.Context, in store.Integration, credential string) CredentialCheck
}
