package migrations_test

import (
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
)

func TestAllOrderedAndPortable(t *testing.T) {
	t.Parallel()
	for _, dialect := range migrations.Dialects {
		all, err := migrations.For(dialect)
		if err != nil {
			t.Fatal(err)
		}
		checkOrderedAndPortable(t, dialect, all)
	}
}

// TestKindsAreData: no migration an engine ends with writes a VCS kind's name into
// a CHECK constraint: the kinds_as_data migration drops the last ones, and none after
// it brings one back.
func TestKindsAreData(t *testing.T) {
	t.Parallel()
	for _, dialect := range migrations.Dialects {
		all, err := migrations.For(dialect)
		if err != nil {
			t.Fatal(err)
		}
		dropped := -1
		for i, m := range all {
			if strings.Contains(m.Name, "kinds_as_data") {
				dropped = i
			}
		}
		if dropped < 0 {
			t.Fatalf("%s: no kinds_as_data migration drops the provider CHECKs", dialect)
		}
		for _, m := range all[dropped:] {
			if strings.Contains(m.SQL, "CHECK (provider IN") {
				t.Errorf("%s: %s checks provider names", dialect, m.Name)
			}
		}
	}
}

func checkOrderedAndPortable(t *testing.T, dialect string, all []migrations.Migration) {
	t.Helper()
	if len(all) == 0 || all[0].Version != 1 {
		t.Fatalf("migrations start at %v", all)
	}
	for i, m := range all {
		if i > 0 && m.Version <= all[i-1].Version {
			t.Fatalf("%s: %s is not after %s", dialect, m.Name, all[i-1].Name)
		}
		if m.Dialect != "" {
			continue // written for its engine
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
