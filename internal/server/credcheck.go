package server

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
)

// CredentialCheck is the outcome of checking an integration's credential against
// Bitbucket. Message is shown to the caller as is, so it must never contain the
// credential.
type CredentialCheck struct {
	Valid   bool
	Reason  string // ok|bad_credentials|missing_scope|not_found|unreachable|skipped
	Message string
}

// CredentialChecker verifies a credential against the Bitbucket an integration points
// at. in carries the integration's non-secret fields (host, email, username, auth
// method); credential is the plaintext api_token, app_password or access_token.
type CredentialChecker interface {
	Check(ctx context.Context, in store.Integration, credential string) CredentialCheck
}

// credentialField is the request field a failed check is reported on.
func credentialField(in store.Integration, reason string) string {
	if reason == CheckUnreachable {
		if in.Provider == store.ProviderBitbucketDataCenter {
			return "api_host"
		}
		return ""
	}
	switch {
	case in.Provider == store.ProviderBitbucketDataCenter:
		return "access_token"
	case in.AuthMethod == authAppPassword:
		return "app_password"
	default:
		return "api_token"
	}
}
