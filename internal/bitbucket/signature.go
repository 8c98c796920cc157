package bitbucket

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureHeader is the header both products sign deliveries with. Its value is
// "sha256=" and the hex HMAC-SHA256 of the raw body (not GitHub's X-Hub-Signature-256).
const SignatureHeader = "X-Hub-Signature"

const signaturePrefix = "sha256="

// Sign returns the X-Hub-Signature value Bitbucket sends for body with secret.
func Sign(secret Secret, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports which of secrets signed body, as the index into secrets, or
// -1 when the header is missing, malformed or matches none. Every comparison runs in
// constant time (hmac.Equal), and every secret is tried whatever the earlier ones gave,
// so the timing tells nothing about which secret matched. Empty secrets never match.
func VerifySignature(header string, body []byte, secrets ...Secret) int {
	hexDigest, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok || len(hexDigest) != 2*sha256.Size {
		return -1
	}
	got, err := hex.DecodeString(hexDigest)
	if err != nil {
		return -1
	}
	matched := -1
	for i, secret := range secrets {
		if secret == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret.Reveal()))
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) && matched < 0 {
			matched = i
		}
	}
	return matched
}
