package server

// RoutePatterns exposes the route table to the external tests ("METHOD /path").
func RoutePatterns() []string {
	var s Server
	var patterns []string
	for _, rt := range s.routeTable() {
		patterns = append(patterns, rt.pattern())
	}
	return patterns
}

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
