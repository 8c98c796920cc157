package main

import (
	"errors"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
)

// keyFilePath is where the generated secret key lives when ORBIT_SECRET_KEY is unset:
// next to the database, so the two travel together.
func keyFilePath(dbPath string) string { return dbPath + ".key" }

// loadSecretKey resolves the 32-byte key: from the environment value when set, else
// from the key file next to the database, created on first start. A PostgreSQL
// database has no "next to": its replicas must all be given the same key.
func loadSecretKey(envValue, dbPath string) ([]byte, error) {
	if envValue == "" && postgres.IsDSN(dbPath) {
		return nil, errors.New("ORBIT_SECRET_KEY must be set with a PostgreSQL database: every replica seals and opens secrets with the same key")
	}
	return secretbox.LoadKey(envValue, keyFilePath(dbPath))
}
