package secretbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// EnvVar is the environment variable holding the key.
const EnvVar = "ORBIT_SECRET_KEY"

// ParseKey decodes a 32-byte key written as base64 (standard or URL alphabet,
// padded or not) or as 64 hex digits. Surrounding whitespace is ignored. The
// error never repeats the input.
func ParseKey(encoded string) ([]byte, error) {
	s := strings.TrimSpace(encoded)
	if s == "" {
		return nil, errors.New("key is empty")
	}
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) == KeySize {
				return key, nil
			}
			return nil, fmt.Errorf("key decodes to %d bytes, want %d", len(key), KeySize)
		}
	}
	return nil, fmt.Errorf("key must be %d bytes encoded as base64 or as %d hex digits", KeySize, 2*KeySize)
}

// KeyFromEnv returns the key from ORBIT_SECRET_KEY when it is set, else the
// key in keyFile, creating that file with a new random key on first start.
func KeyFromEnv(keyFile string) ([]byte, error) {
	return LoadKey(os.Getenv(EnvVar), keyFile)
}

// LoadKey is KeyFromEnv with the variable's value passed in (tests, or a
// caller reading its environment through its own lookup).
func LoadKey(envValue, keyFile string) ([]byte, error) {
	if envValue != "" {
		key, err := ParseKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvVar, err)
		}
		return key, nil
	}
	key, _, err := LoadOrCreateKeyFile(keyFile)
	return key, err
}

// LoadOrCreateKeyFile reads the key in path (base64 text), or, when the file
// does not exist, writes a new random key there readable by the owner only
// (0600) and reports created. Creation is atomic: the file appears complete
// or not at all, and when two servers race the loser reads the winner's key.
// An existing file that group or others can read is refused: the key opens
// every stored credential.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("secret key file: no path given")
	}
	key, err = readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}

	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("secret key file: random key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, false, fmt.Errorf("secret key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, false, fmt.Errorf("secret key file: %w", err)
	}
	_, werr := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("secret key file: write %s: %w", tmp.Name(), werr)
	}
	// A hard link never replaces an existing file, unlike rename.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			key, err = readKeyFile(path)
			return key, false, err
		}
		return nil, false, fmt.Errorf("secret key file: %w", err)
	}
	return key, true, nil
}

func readKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s: mode %04o lets others read it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key, err := ParseKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}

// ReadKeyFile reads the key in path without ever creating it.
func ReadKeyFile(path string) ([]byte, error) { return readKeyFile(path) }

// EncodeKey is the text form of a key in a key file (standard base64).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }
