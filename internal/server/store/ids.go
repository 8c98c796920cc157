package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// NewID returns "<slug of name>-<10 random base32 chars>", or fallback in place
// of the slug when the name has no usable characters. IDs are opaque to
// clients; the slug only helps a human reading logs. Exported because the server
// presets an integration's ID (its secrets are sealed to it before the row exists).
func NewID(name, fallback string) string {
	slug := slugOf(name)
	if slug == "" {
		slug = fallback
	}
	return slug + "-" + RandomToken()
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RandomToken returns 10 random lower-case base32 characters (50 bits).
func RandomToken() string {
	var b [10]byte // 10 bytes give 16 chars; keep 10 (50 bits)
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return lowerBase32.EncodeToString(b[:])[:10]
}

func slugOf(name string) string {
	const maxLen = 24
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= maxLen {
			break
		}
	}
	return strings.TrimRight(b.String()[:min(b.Len(), maxLen)], "-")
}
