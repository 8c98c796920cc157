package bitbucket_test

import (
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"push":{}}`)
	current, previous := bitbucket.Secret("current-secret"), bitbucket.Secret("previous-secret")
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"current", bitbucket.Sign(current, body), 0},
		{"previous", bitbucket.Sign(previous, body), 1},
		{"surrounding spaces", " " + bitbucket.Sign(current, body) + " ", -1},
		{"upper-case hex", "sha256=" + upper(bitbucket.Sign(current, body)[7:]), 0},
		{"missing", "", -1},
		{"other secret", bitbucket.Sign("other", body), -1},
		{"other body", bitbucket.Sign(current, append(body, ' ')), -1},
		{"no prefix", bitbucket.Sign(current, body)[7:], -1},
		{"sha1 prefix", "sha1=" + bitbucket.Sign(current, body)[7:], -1},
		{"truncated", bitbucket.Sign(current, body)[:70], -1},
		{"not hex", "sha256=" + string(make([]byte, 64)), -1},
	}
	for _, tc := range cases {
		if got := bitbucket.VerifySignature(tc.header, body, current, previous); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := bitbucket.VerifySignature(bitbucket.Sign("", body), body, "", ""); got != -1 {
		t.Errorf("an empty secret matched (%d)", got)
	}
}

func upper(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}

// FuzzVerifySignature: only the exact HMAC of the body with a given secret verifies,
// whatever the header, body and secret; verification never panics.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "secret", "sha256=00")
	f.Add([]byte{}, "s", "")
	f.Add([]byte("x"), "k", "sha256="+string(make([]byte, 64)))
	f.Fuzz(func(t *testing.T, body []byte, secret, header string) {
		s := bitbucket.Secret(secret)
		got := bitbucket.VerifySignature(header, body, s)
		if secret == "" && got != -1 {
			t.Fatal("empty secret verified")
		}
		if got == 0 && strings.ToLower(header) != bitbucket.Sign(s, body) {
			t.Fatalf("header %q verified but is not the signature", header)
		}
		if secret != "" && bitbucket.VerifySignature(bitbucket.Sign(s, body), body, s) != 0 {
			t.Fatal("the correct signature did not verify")
		}
	})
}
