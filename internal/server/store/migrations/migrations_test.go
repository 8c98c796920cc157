package migrations_test

import (
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
)

func TestAllOrderedAndPortable(t *testing.T) {
	t.Parallel()
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Version != 1 {
		t.Fatalf("migrations start at %v", all)
	}
	for i, m := range all {
		if i > 0 && m.Version <= all[i-1].Version {
			t.Fatalf("%s is not after %s", m.Name, all[i-1].Name)
		}
		// One set runs on SQLite and PostgreSQL: keep engine-specific types out.
		upper := strings.ToUpper(m.SQL)
		for _, word := range []string{"BLOB", "BYTEA", "AUTOINCREMENT", "SERIAL", "DATETIME", "PRAGMA"} {
			if strings.Contains(upper, word) {
				t.Errorf("%s uses %s, which is not portable", m.Name, word)
			}
		}
	}
	if !strings.Contains(all[0].SQL, "'root'") {
		t.Fatalf("the first migration must create the root space")
	}
}
