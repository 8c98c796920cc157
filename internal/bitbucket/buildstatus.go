package bitbucket

// MaxBuildStatusKeyLen is the longest build status key orbit sends: Bitbucket Cloud's
// limit, which orbit keeps to on Data Center too (that allows 255).
const MaxBuildStatusKeyLen = 40

// ValidateBuildStatusKey checks a build status key against what both products accept.
func ValidateBuildStatusKey(key string) error {
	if key == "" {
		return &ValidationError{Field: "key", Message: "is required"}
	}
	if len(key) > MaxBuildStatusKeyLen {
		return &ValidationError{Field: "key", Message: "must be at most 40 characters"}
	}
	return nil
}
