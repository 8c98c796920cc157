package rules

import (
	"strings"
	"testing"
)

func TestURLProblem(t *testing.T) {
	https := URLRule{}
	tests := []struct {
		raw  string
		rule URLRule
		ok   bool
	}{
		{"https://bitbucket.example.com", https, true},
		{"https://bitbucket.example.com:8443/context", https, true},
		{"https://[::1]:443", https, true},
		{"https://bitbucket.example.com:0", https, false},
		{"https://bitbucket.example.com:65536", https, false},
		{"https://bitbucket.example.com:99999", https, false},
		{"https://bitbucket.example.com:", https, false},
		{"http://bitbucket.example.com", https, false},
		{"http://127.0.0.1:8700", URLRule{AllowHTTP: true}, true},
		{"http://127.0.0.1:70000", URLRule{AllowHTTP: true}, false},
		{"https://u:p@bitbucket.example.com", https, false},
		{"https://bitbucket.example.com?x=1", https, false},
		{"https://bitbucket.example.com#top", https, false},
		{"private://pool-1", URLRule{AllowPrivate: true}, true},
		{"private://Pool", URLRule{AllowPrivate: true}, false},
		{"private://pool-1", https, false},
	}
	for _, tt := range tests {
		if got := URLProblem(tt.raw, tt.rule); (got == "") != tt.ok {
			t.Errorf("URLProblem(%q, %+v) = %q, want ok=%v", tt.raw, tt.rule, got, tt.ok)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://u:p@host":                  "https://***@host",
		"https://user:s3cret@host:8443/a@b": "https://***@host:8443/a@b",
		"https://token@host/path":           "https://***@host/path",
		"https://host/path":                 "https://host/path",
		"u:p@host":                          "***@host",
		"not a url":                         "not a url",
	}
	for in, want := range tests {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLengthsAreCharacters: a 100-character name of é (200 bytes) is valid on both
// sides; the provider used to count bytes and refuse it.
func TestLengthsAreCharacters(t *testing.T) {
	name := strings.Repeat("é", MaxNameLen)
	if p := NameProblem(name); p != "" {
		t.Fatalf("NameProblem(100 × é) = %q", p)
	}
	if p := NameProblem(name + "é"); p == "" {
		t.Fatal("a 101-character name passed")
	}
	if p := NameProblem(" \t"); p == "" {
		t.Fatal("a blank name passed")
	}
}

func TestNameProblemRefusesControlAndBidi(t *testing.T) {
	for _, name := range []string{"a\x00b", "line\nbreak", "tab\there", "esc\x1b[31m", "del\x7f", "c1\u0085", "rlo\u202egnp.exe", "iso\u2066x\u2069"} {
		if NameProblem(name) == "" {
			t.Errorf("NameProblem(%q) accepts it", name)
		}
	}
	for _, name := range []string{"platform team", "équipe", "名前", "a-b_c.d"} {
		if p := NameProblem(name); p != "" {
			t.Errorf("NameProblem(%q) = %q", name, p)
		}
	}
}
