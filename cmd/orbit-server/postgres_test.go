package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
)

// --db postgres://… runs the server on PostgreSQL; two servers on one database
// share the bootstrap admin key, which only the first prints.
func TestPostgresDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Start(t).NewDatabase(t)

	_, err := configFromArgs([]string{"--db", dsn}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ORBIT_SECRET_KEY") {
		t.Fatalf("PostgreSQL without ORBIT_SECRET_KEY: %v, want an error naming it", err)
	}

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ORBIT_SECRET_KEY": base64.StdEncoding.EncodeToString(raw)}
	var outs [2]string
	var srvs [2]*server.Server
	for i := range srvs {
		var stdout bytes.Buffer
		cfg, err := configFromArgs([]string{"--db", dsn, "--listen", "127.0.0.1:0"}, env(vars), &stdout, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		srvs[i], err = server.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("server %d on PostgreSQL: %v", i, err)
		}
		t.Cleanup(func() { srvs[i].Close() })
		outs[i] = stdout.String()
	}
	keys := printedKey.FindAllString(outs[0], -1)
	if len(keys) != 1 {
		t.Fatalf("first server printed %d keys:\n%s", len(keys), outs[0])
	}
	if printedKey.MatchString(outs[1]) {
		t.Fatalf("second server on the same database printed a new key:\n%s", outs[1])
	}
	for i, srv := range srvs {
		if code := status(t, srv, keys[0]); code != http.StatusOK {
			t.Fatalf("server %d answers %d to the bootstrap key", i, code)
		}
	}
}
