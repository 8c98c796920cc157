package server

import "github.com/orbit-iac/terraform-provider-orbit/internal/server/store"

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
