package main

import "github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"

// keyFilePath is where the generated secret key lives when ORBIT_SECRET_KEY is unset:
// next to the database, so the two travel together.
func keyFilePath(dbPath string) string { return dbPath + ".key" }

// loadSecretKey resolves the 32-byte key: from the environment value when set, else
// from the key file next to the database, created on first start.
func loadSecretKey(envValue, dbPath string) ([]byte, error) {
	return secretbox.LoadKey(envValue, keyFilePath(dbPath))
}
