package sandbox_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesStaySmall holds the package to files a reader can hold: no non-test Go file
// of the sandbox (or its contract checker) over 600 lines.
func TestFilesStaySmall(t *testing.T) {
	t.Parallel()
	const limit = 600
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("contract/*.go")
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")); n > limit {
			t.Errorf("%s has %d lines; split it by concern (limit %d)", f, n, limit)
		}
	}
}
