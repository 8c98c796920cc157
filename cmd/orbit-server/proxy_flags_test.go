package main

import (
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTrustedProxiesFlag(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "orbit.db")
	cfg, err := configFromArgs([]string{"--db", db}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Fatalf("default trusts %v", cfg.TrustedProxies)
	}
	cfg, err = configFromArgs([]string{"--db", db, "--trusted-proxies", " 10.0.0.7, 10.1.0.0/16,,2001:db8::/32 ,::1"}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32"), netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Fatalf("TrustedProxies = %v, want %v", cfg.TrustedProxies, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "lb.example.com", "10.0.0.1:80", "10.0.0.256", "fe80::1%eth0", "10.0.0.1 10.0.0.2"} {
		_, err := configFromArgs([]string{"--db", db, "--trusted-proxies", "10.0.0.1," + bad}, env(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), bad) {
			t.Errorf("--trusted-proxies %s: err = %v, want one naming the flag and the entry", bad, err)
		}
	}
}
