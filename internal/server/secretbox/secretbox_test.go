package secretbox_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

func newBox(t *testing.T, key []byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	box := newBox(t, newKey(t))
	ad := secretbox.AssociatedData("integration", "int-1", "credential")
	for _, plaintext := range [][]byte{[]byte("ATATT3xFfGF0-api-token"), {}, bytes.Repeat([]byte{0xff}, 4096)} {
		sealed, err := box.Seal(plaintext, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(plaintext) > 4 && bytes.Contains(sealed, plaintext) {
			t.Fatalf("sealed value contains the plaintext")
		}
		opened, err := box.Open(sealed, ad)
		if err != nil || !bytes.Equal(opened, plaintext) {
			t.Fatalf("Open = %q, %v; want %q", opened, err, plaintext)
		}
	}
	a, _ := box.Seal([]byte("same"), ad)
	b, _ := box.Seal([]byte("same"), ad)
	if bytes.Equal(a, b) {
		t.Fatalf("two seals of one plaintext are identical: nonce reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	box := newBox(t, key)
	ad := secretbox.AssociatedData("integration", "int-1", "credential")
	plaintext := []byte("super-secret-token")
	sealed, err := box.Seal(plaintext, ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name   string
		box    *secretbox.Box
		sealed []byte
		ad     []byte
		want   error
	}{
		{"tampered ciphertext", box, flip(len(sealed) / 2), ad, secretbox.ErrOpen},
		{"tampered tag", box, flip(len(sealed) - 1), ad, secretbox.ErrOpen},
		{"tampered nonce", box, flip(3), ad, secretbox.ErrOpen},
		{"unknown format", box, flip(0), ad, secretbox.ErrFormat},
		{"truncated", box, sealed[:10], ad, secretbox.ErrFormat},
		{"empty", box, nil, ad, secretbox.ErrFormat},
		{"other row", box, sealed, secretbox.AssociatedData("integration", "int-2", "credential"), secretbox.ErrOpen},
		{"other field", box, sealed, secretbox.AssociatedData("integration", "int-1", "webhook_secret"), secretbox.ErrOpen},
		{"no associated data", box, sealed, nil, secretbox.ErrOpen},
		{"other key", newBox(t, newKey(t)), sealed, ad, secretbox.ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opened, err := tc.box.Open(tc.sealed, tc.ad)
			if !errors.Is(err, tc.want) || opened != nil {
				t.Fatalf("Open = %q, %v; want %v", opened, err, tc.want)
			}
			if strings.Contains(err.Error(), string(plaintext)) || strings.Contains(err.Error(), hex.EncodeToString(key)) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestAssociatedDataIsUnambiguous(t *testing.T) {
	t.Parallel()
	if bytes.Equal(secretbox.AssociatedData("ab", "c"), secretbox.AssociatedData("a", "bc")) {
		t.Fatalf("parts are not delimited")
	}
	if bytes.Equal(secretbox.AssociatedData("a", ""), secretbox.AssociatedData("a")) {
		t.Fatalf("an empty part vanishes")
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := secretbox.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	good := map[string]string{
		"base64 std":        base64.StdEncoding.EncodeToString(key),
		"base64 raw std":    base64.RawStdEncoding.EncodeToString(key),
		"base64 url":        base64.URLEncoding.EncodeToString(key),
		"base64 raw url":    base64.RawURLEncoding.EncodeToString(key),
		"hex lower":         hex.EncodeToString(key),
		"hex upper":         strings.ToUpper(hex.EncodeToString(key)),
		"surrounding space": "  " + base64.StdEncoding.EncodeToString(key) + "\n",
	}
	for name, in := range good {
		got, err := secretbox.ParseKey(in)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: ParseKey = %x, %v", name, got, err)
		}
	}
	bad := map[string]string{
		"empty":           "",
		"blank":           "   ",
		"short base64":    base64.StdEncoding.EncodeToString(key[:16]),
		"long base64":     base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)),
		"short hex":       hex.EncodeToString(key[:31]),
		"not an encoding": "this is not a key, it is a sentence!",
		"hex with junk":   hex.EncodeToString(key)[:62] + "zz",
		"password":        "hunter2-correct-horse-battery",
	}
	for name, in := range bad {
		_, err := secretbox.ParseKey(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if trimmed := strings.TrimSpace(in); trimmed != "" && strings.Contains(err.Error(), trimmed) {
			t.Errorf("%s: error %q repeats the input", name, err)
		}
	}
}

func TestLoadKeyFromEnvValue(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	keyFile := filepath.Join(t.TempDir(), "orbit.db.key")
	got, err := secretbox.LoadKey(hex.EncodeToString(key), keyFile)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("LoadKey = %x, %v", got, err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was created although %s is set", secretbox.EnvVar)
	}
	const malformed = "not-a-valid-key-value-XYZ"
	_, err = secretbox.LoadKey(malformed, keyFile)
	if err == nil || !strings.Contains(err.Error(), "ORBIT_SECRET_KEY") || strings.Contains(err.Error(), malformed) {
		t.Fatalf("malformed env value: error %v must name ORBIT_SECRET_KEY and not echo the value", err)
	}
}

func TestKeyFileCreatedOnceAndReused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orbit.db.key")
	first, created, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(first) != secretbox.KeySize {
		t.Fatalf("first load: %d bytes, created %v, %v", len(first), created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	again, created, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(again, first) {
		t.Fatalf("second load: created %v, same key %v, %v", created, bytes.Equal(again, first), err)
	}
	viaEnv, err := secretbox.LoadKey("", path)
	if err != nil || !bytes.Equal(viaEnv, first) {
		t.Fatalf("LoadKey with no env value did not use the file: %v", err)
	}
	// Nothing but the key file is left in the directory.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestKeyFileRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orbit.db.key")
	const racers = 8
	keys := make([][]byte, racers)
	createdCount := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key, created, err := secretbox.LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			keys[i] = key
			if created {
				createdCount++
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 {
		t.Fatalf("%d racers created the file, want 1", createdCount)
	}
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("racers got different keys")
		}
	}
}

func TestKeyFileRefused(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	dir := t.TempDir()
	key := newKey(t)

	open := filepath.Join(dir, "readable.key")
	if err := os.WriteFile(open, []byte(base64.StdEncoding.EncodeToString(key)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secretbox.LoadOrCreateKeyFile(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file: %v", err)
	}

	const junk = "definitely-not-a-key"
	broken := filepath.Join(dir, "broken.key")
	if err := os.WriteFile(broken, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := secretbox.LoadOrCreateKeyFile(broken)
	if err == nil || strings.Contains(err.Error(), junk) || !strings.Contains(err.Error(), broken) {
		t.Fatalf("malformed key file: error %v must name the file and not echo its content", err)
	}
	if got, _ := os.ReadFile(broken); string(got) != junk {
		t.Fatalf("a malformed key file was overwritten")
	}

	if _, _, err := secretbox.LoadOrCreateKeyFile(filepath.Join(dir, "missing-dir", "x.key")); err == nil {
		t.Fatalf("key file in a missing directory was accepted")
	}
}
