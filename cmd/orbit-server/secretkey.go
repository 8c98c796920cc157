package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// keyFilePath is where the generated secret key lives when ORBIT_SECRET_KEY is unset:
// next to the database, so the two travel together.
func keyFilePath(dbPath string) string { return dbPath + ".key" }

// loadSecretKey resolves the 32-byte key: from the environment value when set, else
// from the key file next to the database, creating it on first start.
func loadSecretKey(envValue, dbPath string) ([]byte, error) {
	if envValue != "" {
		key, err := decodeKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("ORBIT_SECRET_KEY: %w", err)
		}
		return key, nil
	}
	path := keyFilePath(dbPath)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := decodeKey(string(raw))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("key file: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write key file: %w", werr)
	}
	return key, nil
}

// decodeKey accepts 32 bytes as base64 (standard or URL, padded or not) or hex. Its
// errors never quote the value.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == 32 {
			return key, nil
		}
	}
	if key, err := hex.DecodeString(s); err == nil && len(key) == 32 {
		return key, nil
	}
	return nil, errors.New("must be 32 bytes encoded as base64 or hex")
}
