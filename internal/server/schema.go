package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// SchemaStatus is where a database's schema stands against this build.
type SchemaStatus = sqlstore.SchemaStatus

// openStore opens the SQLite file or PostgreSQL database db. With migrate it
// applies the pending migrations first (servers starting together on one
// PostgreSQL database apply each once, under an advisory lock); without, a schema
// that is behind is refused. A schema newer than this build is refused either way,
// naming both versions.
func openStore(ctx context.Context, db string, migrate bool) (store.Store, error) {
	var (
		st  store.Store
		err error
	)
	switch {
	case db == "":
		return nil, errors.New("database: no path given")
	case postgres.IsDSN(db):
		st, err = postgres.OpenWith(ctx, db, postgres.Options{SkipMigrations: !migrate})
	default:
		st, err = sqlite.OpenWith(ctx, db, sqlite.Options{SkipMigrations: !migrate})
	}
	if err != nil {
		return nil, schemaError(err)
	}
	return st, nil
}

// schemaError says which orbit-server refused a newer schema.
func schemaError(err error) error {
	var newer *sqlstore.NewerSchemaError
	if errors.As(err, &newer) {
		return fmt.Errorf("database: orbit-server %s refuses to start: %w", version.Get(), err)
	}
	return fmt.Errorf("database: %w", err)
}

// Migrate applies the pending migrations to db and returns where the schema
// stood before and stands now. Replicas or migrate commands running together on
// one PostgreSQL database apply each migration once (an advisory lock).
func Migrate(ctx context.Context, db string) (before, after SchemaStatus, err error) {
	if before, err = ReadSchemaStatus(ctx, db); err != nil {
		return before, after, err
	}
	st, err := openStore(ctx, db, true)
	if err != nil {
		return before, after, err
	}
	if err := st.Close(); err != nil {
		return before, after, err
	}
	after, err = ReadSchemaStatus(ctx, db)
	return before, after, err
}

// ReadSchemaStatus reads db's schema version without changing anything (a
// missing SQLite file is an empty database and is not created).
func ReadSchemaStatus(ctx context.Context, db string) (SchemaStatus, error) {
	var (
		st  SchemaStatus
		err error
	)
	switch {
	case db == "":
		return st, errors.New("database: no path given")
	case postgres.IsDSN(db):
		st, err = postgres.SchemaStatus(ctx, db)
	default:
		st, err = sqlite.SchemaStatus(ctx, db)
	}
	if err != nil {
		return st, fmt.Errorf("database: %w", err)
	}
	return st, nil
}
