package server

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// RoutePatterns exposes the route table to the external tests ("METHOD /path").
func RoutePatterns() []string {
	var s Server
	var patterns []string
	for _, rt := range s.routeTable() {
		patterns = append(patterns, rt.pattern())
	}
	return patterns
}

// Store exposes the server's store to the external tests (to look at deliveries and
// the queue, which have no API).
func (s *Server) Store() store.Store { return s.store }

// SetBeforeIntegrationUpdate installs f to run in PUT /integrations/{id} after the
// integration was loaded and validated and before the store writes it, so a test
// can interleave another request deterministically.
func SetBeforeIntegrationUpdate(s *Server, f func()) {
	if f == nil {
		s.beforeIntegrationUpdate.Store(nil)
		return
	}
	s.beforeIntegrationUpdate.Store(&f)
}

// InputSizeLimits maps "Schema.property" of openapi.json to the limit the server
// enforces (characters for strings, entries for arrays), so a test can hold the
// document to the code.
var InputSizeLimits = map[string]int{
	"SpaceInput.name": maxNameLen, "SpaceInput.parent_space_id": maxIDLen, "SpaceInput.description": maxDescriptionLen,
	"StackInput.name": maxNameLen, "StackInput.space_id": maxIDLen, "StackInput.description": maxDescriptionLen,
	"APIKeyInput.name": maxNameLen, "APIKeyInput.roles": maxRolesPerKey, "RoleBinding.space_id": maxIDLen,
	"IntegrationInput.space_id": maxIDLen, "IntegrationInput.description": maxDescriptionLen,
	"IntegrationInput.email": maxEmailLen, "IntegrationInput.username": maxUsernameLen,
	"IntegrationInput.api_token": maxCredentialLen, "IntegrationInput.app_password": maxCredentialLen,
	"IntegrationInput.access_token": maxCredentialLen, "IntegrationInput.api_host": maxURLLen,
	"IntegrationInput.user_facing_host": maxURLLen,
	"SpaceInput.labels":                 DefaultMaxLabels, "StackInput.labels": DefaultMaxLabels, "IntegrationInput.labels": DefaultMaxLabels,
	"param.NameFilter": maxFilterLen, "param.SpaceIDFilter": maxFilterLen, "param.PageToken": maxPageTokenLen,
	"param.LabelFilter": DefaultMaxLabels,
}

// CheckReasons are every reason a credential check reports.
var CheckReasons = []string{CheckOK, CheckBadCredentials, CheckMissingScope, CheckNotFound, CheckUnreachable,
	CheckTLSError, CheckNotBitbucket, CheckHostNotAllowed, CheckSkipped}

// WrapStore replaces the server's store with f(store), e.g. to make one call fail.
// The server must run without queue workers (Config.PauseQueue), which read the store.
func WrapStore(s *Server, f func(store.Store) store.Store) { s.store = f(s.store) }

// EndShutdownDelay ends the shutdown delay of a draining Serve now.
func EndShutdownDelay(s *Server) { close(s.endDelay) }

// StatusPosterError builds the commit status poster of an integration and returns
// the error (nil when statuses would be sent).
func StatusPosterError(s *Server, integrationID string) error {
	in, err := s.store.GetIntegration(context.Background(), integrationID)
	if err != nil {
		return err
	}
	_, err = s.posterFor(in, store.Run{})
	return err
}

// ClientAddress is the rule deciding a request's client address (clientAddress).
var ClientAddress = clientAddress
