package server

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/agenthub"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/api"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/receiver"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/runpage"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// RoutePatterns exposes the route table to the external tests ("METHOD /path").
func RoutePatterns() []string {
	return api.RoutePatterns(append((&receiver.Receiver{}).Routes(), append((&runpage.Pages{}).Routes(), (&agenthub.Hub{}).Routes()...)...))
}

// Store exposes the server's store to the external tests (to look at deliveries and
// the queue, which have no API).
func (s *Server) Store() store.Store { return s.store }

// SetBeforeIntegrationUpdate installs f to run in PUT /integrations/{id} after the
// integration was loaded and validated and before the store writes it, so a test
// can interleave another request deterministically.
func SetBeforeIntegrationUpdate(s *Server, f func()) { s.api.SetBeforeIntegrationUpdate(f) }

// InputSizeLimits: see api.InputSizeLimits.
var InputSizeLimits = api.InputSizeLimits

// CheckReasons are every reason a credential check reports.
var CheckReasons = []string{CheckOK, CheckBadCredentials, CheckMissingScope, CheckNotFound, CheckUnreachable,
	CheckTLSError, CheckNotBitbucket, CheckHostNotAllowed, CheckSkipped}

// WrapStore replaces the API's store with f(store), e.g. to make one call fail.
// The server must run without queue workers (Config.PauseQueue), which read the store.
func WrapStore(s *Server, f func(store.Store) store.Store) {
	s.store = f(s.store)
	s.api.SetStore(s.store)
}

// EndShutdownDelay ends the shutdown delay of a draining Serve now.
func EndShutdownDelay(s *Server) { close(s.endDelay) }

// StatusPosterError builds the commit status poster of an integration and returns
// the error (nil when statuses would be sent).
func StatusPosterError(s *Server, integrationID string) error {
	in, err := s.store.GetIntegration(context.Background(), integrationID)
	if err != nil {
		return err
	}
	_, err = s.worker.PosterFor(in, store.Run{})
	return err
}

// ClientAddress is the rule deciding a request's client address.
var ClientAddress = httpx.ClientAddress

// WorkerIdle reports that no claim of the queue is being handled.
func WorkerIdle(s *Server) bool { return s.worker.Handling() == 0 }
