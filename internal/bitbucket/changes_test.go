package bitbucket_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

func TestPathSet(t *testing.T) {
	t.Parallel()
	var s bitbucket.PathSet
	if err := s.Add("a", "", "b", "a"); err != nil || fmt.Sprint(s.Paths()) != "[a b]" {
		t.Fatalf("paths %v, %v", s.Paths(), err)
	}
	var big bitbucket.PathSet
	for i := range bitbucket.MaxChangedPaths {
		if err := big.Add(fmt.Sprint(i)); err != nil {
			t.Fatalf("path %d: %v", i, err)
		}
	}
	var tooMany *bitbucket.TooManyChangesError
	if err := big.Add("one more"); !errors.As(err, &tooMany) {
		t.Fatalf("past the cap: %v", err)
	}
}
