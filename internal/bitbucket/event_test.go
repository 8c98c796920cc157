package bitbucket_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// TestPersonNameAndTitle: what a payload says of a person or a pull request is
// shown on one line, valid UTF-8, without control characters, and capped.
func TestPersonNameAndTitle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ display, handle, want string }{
		{"Jane Citizen", "jcitizen", "Jane Citizen (jcitizen)"},
		{"Jane Citizen", "", "Jane Citizen"},
		{"", "jcitizen", "jcitizen"},
		{"jcitizen", "jcitizen", "jcitizen"},
		{"", "", ""},
		{"Eve\r\n<b>\x00Admin</b>", "eve\t", "Eve <b> Admin</b> (eve)"},
		{"bad \xff byte", "", "bad byte"},
	} {
		if got := bitbucket.PersonName(tc.display, tc.handle); got != tc.want {
			t.Errorf("PersonName(%q, %q) = %q, want %q", tc.display, tc.handle, got, tc.want)
		}
	}
	long := bitbucket.PersonName(strings.Repeat("é", 400), "x")
	if len(long) > 255 || !utf8.ValidString(long) || !strings.Contains(long, "more bytes") {
		t.Errorf("a long name is not capped at 255 bytes: %d bytes %q", len(long), long)
	}
	if got := bitbucket.Title("  Fix\nthe\tbuild  "); got != "Fix the build" {
		t.Errorf("Title = %q", got)
	}
	if got := bitbucket.Title(strings.Repeat("a", 5000)); len(got) > 1024 {
		t.Errorf("a long title is %d bytes", len(got))
	}
}
