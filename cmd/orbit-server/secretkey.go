package main

import (
	"errors"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
)

// keyFilePath is where the generated secret key lives when ORBIT_SECRET_KEY is unset:
// next to the database, so the two travel together.
func keyFilePath(dbPath string) string { return dbPath + ".key" }

// secretKeySource resolves where the 32-byte key comes from: the environment value
// when set (parsed now), else the key file next to the database, which the server
// reads, or creates while the database holds no sealed data. A PostgreSQL database
// has no "next to": its replicas must all be given the same key.
func secretKeySource(envValue, dbPath string) (key []byte, keyFile string, err error) {
	if envValue != "" {
		key, err := secretbox.ParseKey(envValue)
		if err != nil {
			return nil, "", errors.New(secretbox.EnvVar + ": " + err.Error())
		}
		return key, "", nil
	}
	if postgres.IsDSN(dbPath) {
		return nil, "", errors.New("ORBIT_SECRET_KEY must be set with a PostgreSQL database: every replica seals and opens secrets with the same key")
	}
	return nil, keyFilePath(dbPath), nil
}
