package bitbucket

import (
	"net/url"
	"strconv"
)

// SecretUpdate says what a webhook update does to the webhook's secret. The zero value
// keeps it: the product clients then leave the secret out of the body, the only way
// either Bitbucket leaves it as is. Removal is asked for explicitly with RemoveSecret,
// and the clients refuse SetSecret with an empty value.
type SecretUpdate struct {
	op    secretOp
	value Secret
}

type secretOp int

const (
	secretKeep secretOp = iota
	secretSet
	secretRemove
)

// KeepSecret leaves the secret unchanged (the default).
func KeepSecret() SecretUpdate { return SecretUpdate{} }

// SetSecret replaces the secret.
func SetSecret(secret Secret) SecretUpdate { return SecretUpdate{op: secretSet, value: secret} }

// RemoveSecret deletes the secret; deliveries are then unsigned.
func RemoveSecret() SecretUpdate { return SecretUpdate{op: secretRemove} }

// NewSecret returns the value to set and true when the update sets the secret.
func (u SecretUpdate) NewSecret() (Secret, bool) { return u.value, u.op == secretSet }

// Removes reports whether the update deletes the secret.
func (u SecretUpdate) Removes() bool { return u.op == secretRemove }

// ValidateWebhookTarget checks what both products require of a webhook: an absolute
// http(s) URL and at least one event, each non-empty and named once.
func ValidateWebhookTarget(hookURL string, events []string) error {
	u, err := url.Parse(hookURL)
	if hookURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &ValidationError{Field: "url", Message: "must be an absolute http(s) URL"}
	}
	if len(events) == 0 {
		return &ValidationError{Field: "events", Message: "must name at least one event"}
	}
	seen := make(map[string]bool, len(events))
	for i, e := range events {
		if e == "" || seen[e] {
			return &ValidationError{Field: "events[" + strconv.Itoa(i) + "]", Message: "must be a non-empty, unique event key"}
		}
		seen[e] = true
	}
	return nil
}
