package server_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// getVia sends GET url with key, one X-Forwarded-For header line per entry of xff and
// the request id id (when not empty), and returns the status.
func getVia(t *testing.T, url, key, id string, xff ...string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	for _, line := range xff {
		req.Header.Add("X-Forwarded-For", line)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// badKey is a well-formed key that authenticates nobody.
func badKey(inst *servertest.Instance) string {
	return inst.AdminKey[:len(inst.AdminKey)-4] + "AAAA"
}

// Behind a trusted proxy (the test server's peer is always 127.0.0.1), failed
// authentications count against the client X-Forwarded-For names: one client using up
// its allowance does not lock out another coming through the same proxy, and cannot
// escape its own by prepending a made-up address.
func TestTrustedProxyLimitsEachForwardedClient(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.AuthFailureBurst = 3
		c.AuthFailureInterval = time.Hour // no refill during the test
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	}))
	url := inst.URL + "/api/v1/spaces"
	bad := badKey(inst)
	for i := range 3 {
		if got := getVia(t, url, bad, "", "203.0.113.7"); got != http.StatusUnauthorized {
			t.Fatalf("client A failure %d: status %d, want 401", i+1, got)
		}
	}
	if got := getVia(t, url, inst.AdminKey, "", "203.0.113.7"); got != http.StatusTooManyRequests {
		t.Fatalf("client A after its burst: status %d, want 429", got)
	}
	// A forged entry left of A's address, and a second trusted proxy right of it, do
	// not change whose allowance it is.
	if got := getVia(t, url, inst.AdminKey, "", "198.51.100.1, 203.0.113.7", "10.1.2.3"); got != http.StatusTooManyRequests {
		t.Fatalf("client A with a forged entry and a second proxy: status %d, want 429", got)
	}
	// Client B, and the proxy itself (no header), still have theirs.
	if got := getVia(t, url, inst.AdminKey, "", "203.0.113.8"); got != http.StatusOK {
		t.Fatalf("client B with a good key: status %d, want 200", got)
	}
	if got := getVia(t, url, bad, "", "203.0.113.8"); got != http.StatusUnauthorized {
		t.Fatalf("client B with a bad key: status %d, want 401", got)
	}
	if got := getVia(t, url, inst.AdminKey, ""); got != http.StatusOK {
		t.Fatalf("the proxy's own request: status %d, want 200", got)
	}
}

// A client cannot choose the address its failures count against by sending
// X-Forwarded-For: without trusted proxies, or when its peer is not one of them, the
// header is ignored and every failure counts against the peer.
func TestForwardedForFromUntrustedPeerIsIgnored(t *testing.T) {
	t.Parallel()
	for name, trusted := range map[string][]netip.Prefix{
		"no trusted proxies":      nil,
		"peer is not trusted":     {netip.MustParsePrefix("10.0.0.0/8")},
		"forged proxy is trusted": {netip.MustParsePrefix("192.0.2.0/24")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
				c.AuthFailureBurst = 3
				c.AuthFailureInterval = time.Hour
				c.TrustedProxies = trusted
			}))
			url := inst.URL + "/api/v1/spaces"
			bad := badKey(inst)
			for i, xff := range []string{"203.0.113.1", "203.0.113.2, 192.0.2.1", "203.0.113.3"} {
				if got := getVia(t, url, bad, "", xff); got != http.StatusUnauthorized {
					t.Fatalf("failure %d: status %d, want 401", i+1, got)
				}
			}
			for _, xff := range [][]string{{"203.0.113.4"}, {"203.0.113.5, 192.0.2.1"}, nil} {
				if got := getVia(t, url, inst.AdminKey, "", xff...); got != http.StatusTooManyRequests {
					t.Fatalf("X-Forwarded-For %q after the peer's burst: status %d, want 429", xff, got)
				}
			}
		})
	}
}

// accessLogLine is the access log line of request id in logs.
func accessLogLine(t *testing.T, logs string, id string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "http request" && line["request_id"] == id {
			return line
		}
	}
	t.Fatalf("no access log line for request %s in:\n%s", id, logs)
	return nil
}

// The access log names the client a trusted proxy forwarded for (and the proxy as
// peer); from an untrusted peer it names the peer whatever the header says.
func TestAccessLogNamesForwardedClient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		trusted    []netip.Prefix
		wantClient string
		wantPeer   any
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "2001:db8::7", "127.0.0.1"},
		{"untrusted", nil, "127.0.0.1", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &lockedBuffer{}
			inst := servertest.Start(t, servertest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))),
				servertest.WithConfig(func(c *server.Config) { c.TrustedProxies = tt.trusted }))
			if got := getVia(t, inst.URL+"/api/v1/spaces", inst.AdminKey, "proxy-log-1", "198.51.100.1, 2001:DB8::7"); got != http.StatusOK {
				t.Fatalf("status %d", got)
			}
			line := accessLogLine(t, logs.String(), "proxy-log-1")
			if line["client"] != tt.wantClient || line["peer"] != tt.wantPeer {
				t.Fatalf("client %v, peer %v; want %v, %v", line["client"], line["peer"], tt.wantClient, tt.wantPeer)
			}
		})
	}
}

func TestClientAddress(t *testing.T) {
	t.Parallel()
	trusted, err := server.ParseTrustedProxies("10.0.0.0/8, 192.0.2.10, ::1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no trusted proxies: header ignored", "10.0.0.1:4711", []string{"203.0.113.9"}, nil, "10.0.0.1"},
		{"untrusted peer: header ignored", "198.51.100.3:4711", []string{"203.0.113.9"}, trusted, "198.51.100.3"},
		{"trusted peer, no header", "10.0.0.1:4711", nil, trusted, "10.0.0.1"},
		{"trusted peer, empty header", "10.0.0.1:4711", []string{""}, trusted, "10.0.0.1"},
		{"one entry", "10.0.0.1:4711", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"rightmost untrusted wins over forged entries", "10.0.0.1:4711", []string{"1.1.1.1, 2.2.2.2, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"trusted proxies skipped", "10.0.0.1:4711", []string{"1.1.1.1, 203.0.113.9, 192.0.2.10, 10.9.9.9"}, trusted, "203.0.113.9"},
		{"spaces and tabs", "10.0.0.1:4711", []string{" 1.1.1.1 ,\t203.0.113.9 ,  10.2.3.4 "}, trusted, "203.0.113.9"},
		{"header lines concatenated in order", "10.0.0.1:4711", []string{"1.1.1.1", "203.0.113.9, 10.2.3.4", "192.0.2.10"}, trusted, "203.0.113.9"},
		{"IPv6 client, canonical", "[::1]:4711", []string{"2001:DB8:0:0::7"}, trusted, "2001:db8::7"},
		{"IPv6 proxies skipped", "[::1]:4711", []string{"203.0.113.9, fd00::1"}, trusted, "203.0.113.9"},
		{"IPv4-mapped peer and client", "[::ffff:10.0.0.1]:4711", []string{"::ffff:203.0.113.9"}, trusted, "203.0.113.9"},
		{"zone dropped", "10.0.0.1:4711", []string{"fe80::1%eth0"}, trusted, "fe80::1"},
		{"entry with a port", "10.0.0.1:4711", []string{"203.0.113.9:5555"}, trusted, "203.0.113.9"},
		{"IPv6 entry with a port", "10.0.0.1:4711", []string{"[2001:db8::7]:5555"}, trusted, "2001:db8::7"},
		{"IPv6 entry in brackets", "10.0.0.1:4711", []string{"[2001:db8::7]"}, trusted, "2001:db8::7"},
		{"garbage left of the client is never read", "10.0.0.1:4711", []string{"unknown, <script>, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"garbage before the client: peer", "10.0.0.1:4711", []string{"203.0.113.9, unknown"}, trusted, "10.0.0.1"},
		{"garbage behind a trusted proxy: peer", "10.0.0.1:4711", []string{"203.0.113.9, bad host, 10.0.0.2"}, trusted, "10.0.0.1"},
		{"empty entry before the client: peer", "10.0.0.1:4711", []string{"203.0.113.9,"}, trusted, "10.0.0.1"},
		{"hostname: peer", "10.0.0.1:4711", []string{"client.example.com"}, trusted, "10.0.0.1"},
		{"CIDR entry: peer", "10.0.0.1:4711", []string{"203.0.113.0/24"}, trusted, "10.0.0.1"},
		{"all trusted: peer", "10.0.0.1:4711", []string{"10.0.0.2, 192.0.2.10"}, trusted, "10.0.0.1"},
		{"peer without a port", "10.0.0.1", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"peer that is no address", "@", []string{"203.0.113.9"}, trusted, "@"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := server.ClientAddress(tt.peer, tt.xff, tt.trusted); got != tt.want {
				t.Errorf("ClientAddress(%q, %q) = %q, want %q", tt.peer, tt.xff, got, tt.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := server.ParseTrustedProxies(" 10.1.2.3/8,192.0.2.10 , ::ffff:172.16.0.0/108,,2001:db8::/32")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::/32")}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got, err := server.ParseTrustedProxies(""); err != nil || got != nil {
		t.Errorf("empty list: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "lb.internal", "10.0.0.1:443", "10.0.0", "*"} {
		if _, err := server.ParseTrustedProxies("10.0.0.1, " + bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err = %v, want one naming it", bad, err)
		}
	}
}
