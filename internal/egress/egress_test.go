package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	def := Default()
	restricted, err := Parse("bitbucket.example.com, *.corp.example", "10.1.0.0/16", "192.168.7.9", "169.254.10.0/24")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy *Policy
		host   string
		addr   string
		allow  bool
	}{
		// Default: everything but the always-refused ranges; loopback works.
		{def, "127.0.0.1", "127.0.0.1", true},
		{def, "localhost", "::1", true},
		{def, "bitbucket.internal", "10.0.0.5", true},
		{def, "metadata", "169.254.169.254", false},
		{def, "x", "::ffff:169.254.169.254", false},
		{def, "x", "fd00:ec2::254", false},
		{def, "x", "fe80::1", false},
		{def, "x", "100.100.100.200", false},
		{def, "x", "0.0.0.0", false},
		{def, "x", "::", false},
		{def, "x", "224.0.0.1", false},
		// Restricted: listed names and ranges only.
		{restricted, "bitbucket.example.com", "203.0.113.5", true},
		{restricted, "BitBucket.Example.COM.", "203.0.113.5", true},
		{restricted, "git.corp.example", "203.0.113.6", true},
		{restricted, "corp.example", "203.0.113.6", false},
		{restricted, "other.example.com", "203.0.113.7", false},
		{restricted, "anything", "10.1.200.3", true},
		{restricted, "anything", "192.168.7.9", true},
		{restricted, "anything", "192.168.7.10", false},
		{restricted, "127.0.0.1", "127.0.0.1", false},
		// A listed name never unlocks an always-refused address; a listed CIDR does.
		{restricted, "bitbucket.example.com", "169.254.169.254", false},
		{restricted, "anything", "169.254.10.20", true},
	}
	for _, tt := range tests {
		err := tt.policy.CheckAddr(tt.host, netip.MustParseAddr(tt.addr))
		if (err == nil) != tt.allow {
			t.Errorf("restricted=%v %s (%s): err = %v, want allowed=%v", tt.policy.Restricted(), tt.host, tt.addr, err, tt.allow)
		}
		var blocked *BlockedError
		if err != nil && (!errors.As(err, &blocked) || (tt.host != tt.addr && strings.Contains(err.Error(), tt.addr))) {
			t.Errorf("%s: refusal %v is not a BlockedError naming only the host", tt.host, err)
		}
	}
}

func TestParseRejectsNonsense(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "*", "*.", "http://x", "a b", "x:80"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	p, err := Parse("", " , ")
	if err != nil || p.Restricted() {
		t.Fatalf("empty entries: %v, restricted %v", err, p != nil && p.Restricted())
	}
}

// The check happens on the resolved address: a permitted-looking name that
// resolves to the metadata service is refused, and an allowed name's connection
// goes to the address that was checked.
func TestDialChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }))
	t.Cleanup(ts.Close)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())

	p := Default()
	p.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "rebind.example":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		case "mixed.example":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("127.0.0.1")}, nil
		case "good.example":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	client := &http.Client{Transport: p.Transport(nil)}
	get := func(host string) error {
		resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	var blocked *BlockedError
	if err := get("rebind.example"); !errors.As(err, &blocked) || !blocked.AlwaysRefused {
		t.Fatalf("name resolving to metadata: err = %v, want a BlockedError", err)
	}
	if err := get("169.254.169.254"); !errors.As(err, &blocked) {
		t.Fatalf("metadata IP literal: err = %v, want a BlockedError", err)
	}
	if err := get("good.example"); err != nil {
		t.Fatalf("allowed name: %v", err)
	}
	if err := get("mixed.example"); err != nil {
		t.Fatalf("a name with one allowed address uses it: %v", err)
	}
	if err := get("127.0.0.1"); err != nil {
		t.Fatalf("loopback is allowed by default: %v", err)
	}

	restricted, _ := Parse("good.example")
	restricted.lookup = p.lookup
	client = &http.Client{Transport: restricted.Transport(nil)}
	if err := get("good.example"); err != nil {
		t.Fatalf("listed name: %v", err)
	}
	if err := get("127.0.0.1"); !errors.As(err, &blocked) {
		t.Fatalf("unlisted loopback under an allow list: err = %v", err)
	}
	if err := get("mixed.example"); !errors.As(err, &blocked) {
		t.Fatalf("unlisted name: err = %v", err)
	}
}

func TestTransportIgnoresProxy(t *testing.T) {
	t.Parallel()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = http.ProxyFromEnvironment
	if Default().Transport(base).Proxy != nil {
		t.Fatal("a proxy would connect past the policy")
	}
}
