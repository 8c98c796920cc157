package bitbucket_test

import (
	"fmt"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

func TestSecretFingerprint(t *testing.T) {
	t.Parallel()
	for secret, want := range map[bitbucket.Secret]string{
		"":    "e3b0c44298fc1c14", // SHA-256 of the empty string
		"abc": "ba7816bf8f01cfea",
	} {
		if got := secret.Fingerprint(); got != want {
			t.Errorf("Fingerprint(%q) = %s, want %s", secret.Reveal(), got, want)
		}
	}
	if s := fmt.Sprintf("%v %s %#v", bitbucket.Secret("abc"), bitbucket.Secret("abc"), bitbucket.Secret("abc")); s != "[REDACTED] [REDACTED] [REDACTED]" {
		t.Errorf("a secret printed as %q", s)
	}
}
