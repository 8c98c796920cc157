package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
)

// newKeyEnvVar holds the new key for `orbit-server rekey` when the key comes from
// the environment.
const newKeyEnvVar = "ORBIT_NEW_SECRET_KEY"

const rekeyUsage = `usage: orbit-server rekey [--db orbit.db|postgres://...]   (or ORBIT_DB)

Re-seals every secret in the database with a new key, in one transaction. Stop every
orbit-server on the database first: a running one would go on sealing with the old key.

  Old key: ORBIT_SECRET_KEY, else the key file next to the database (<db>.key).
  New key: ORBIT_NEW_SECRET_KEY; required when ORBIT_SECRET_KEY is set. With a key
           file and no ORBIT_NEW_SECRET_KEY, a new key is written to <db>.key.new
           (0600) first and moved over <db>.key once the re-seal has committed.
`

// rekey runs the rekey subcommand and returns the process exit code.
func rekey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("orbit-server rekey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rekeyUsage) }
	db := fs.String("db", "orbit.db", "SQLite database file, or a postgres:// URL")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := applyEnv(fs, getenv); err != nil { // ORBIT_DB, as for the server
		fmt.Fprintln(stderr, "orbit-server rekey:", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "orbit-server rekey: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	if err := runRekey(ctx, *db, getenv, stdout); err != nil {
		fmt.Fprintln(stderr, "orbit-server rekey:", err)
		return 1
	}
	return 0
}

func runRekey(ctx context.Context, db string, getenv func(string) string, stdout io.Writer) error {
	oldEnv, newEnv := getenv(secretbox.EnvVar), getenv(newKeyEnvVar)
	if oldEnv != "" || postgres.IsDSN(db) {
		if oldEnv == "" || newEnv == "" {
			return fmt.Errorf("set %s to the current key and %s to the new one", secretbox.EnvVar, newKeyEnvVar)
		}
		oldKey, err := secretbox.ParseKey(oldEnv)
		if err != nil {
			return fmt.Errorf("%s: %w", secretbox.EnvVar, err)
		}
		newKey, err := secretbox.ParseKey(newEnv)
		if err != nil {
			return fmt.Errorf("%s: %w", newKeyEnvVar, err)
		}
		res, err := server.Rekey(ctx, db, oldKey, newKey)
		if err != nil {
			return err
		}
		report(stdout, res)
		fmt.Fprintf(stdout, "Start orbit-server with %s set to the new key (the value of %s).\n", secretbox.EnvVar, newKeyEnvVar)
		return nil
	}

	keyFile := keyFilePath(db)
	oldKey, err := secretbox.ReadKeyFile(keyFile)
	if err != nil {
		return err
	}
	newFile := keyFile + ".new"
	var newKey []byte
	if newEnv != "" {
		if newKey, err = secretbox.ParseKey(newEnv); err != nil {
			return fmt.Errorf("%s: %w", newKeyEnvVar, err)
		}
		if err := writeKeyFile(newFile, newKey); err != nil {
			return err
		}
	} else if newKey, _, err = secretbox.LoadOrCreateKeyFile(newFile); err != nil {
		return err
	}
	res, err := server.Rekey(ctx, db, oldKey, newKey)
	if err != nil {
		return err
	}
	// The database is sealed with the new key from here: the new file replaces the
	// old one atomically. Should this fail, the message says which file to move.
	if err := os.Rename(newFile, keyFile); err != nil {
		return fmt.Errorf("the database is re-sealed with the key in %s, but moving it over %s failed (move it by hand): %w", newFile, keyFile, err)
	}
	report(stdout, res)
	fmt.Fprintf(stdout, "The key file %s now holds the new key.\n", keyFile)
	return nil
}

func report(w io.Writer, res server.RekeyResult) {
	fmt.Fprintf(w, "Re-sealed %d values with the new key.\n", res.Resealed)
	if res.DroppedIdempotency > 0 {
		fmt.Fprintf(w, "Dropped %d stored idempotency answers (requests retried across the rekey are not deduplicated).\n", res.DroppedIdempotency)
	}
}

// writeKeyFile writes key to a new file readable by the owner only; an existing
// file is an error (it may be the only copy of a key).
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists, maybe from an interrupted rekey: check which key opens the database, then remove it", path)
	}
	if err != nil {
		return err
	}
	_, werr := f.WriteString(secretbox.EncodeKey(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
