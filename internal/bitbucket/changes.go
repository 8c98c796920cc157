package bitbucket

import "fmt"

// MaxChangedPaths bounds a listing of a change's paths: past it the listing is
// given up (a TooManyChangesError), and the caller must act as if every path changed.
const MaxChangedPaths = 10000

// TooManyChangesError says a change touched more paths than a listing collects.
type TooManyChangesError struct{ Limit int }

func (e *TooManyChangesError) Error() string {
	return fmt.Sprintf("the change touches more than %d paths", e.Limit)
}

// PathSet collects the paths of a listing once each, in the order first seen, up
// to MaxChangedPaths.
type PathSet struct {
	seen  map[string]bool
	paths []string
}

// Add adds the non-empty paths; a *TooManyChangesError once past MaxChangedPaths.
func (s *PathSet) Add(paths ...string) error {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, p := range paths {
		if p == "" || s.seen[p] {
			continue
		}
		if len(s.paths) == MaxChangedPaths {
			return &TooManyChangesError{Limit: MaxChangedPaths}
		}
		s.seen[p] = true
		s.paths = append(s.paths, p)
	}
	return nil
}

// Paths are the paths added, in order ([] when none).
func (s *PathSet) Paths() []string {
	if s.paths == nil {
		return []string{}
	}
	return s.paths
}
