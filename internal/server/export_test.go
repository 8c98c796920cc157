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
