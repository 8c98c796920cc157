// Package egress decides where orbit-server may open connections on behalf of an API
// caller: credential checks against a Data Center api_host today, build status posts
// later. A caller chooses the URL, so without a policy the server would be a probe
// into its own network (and into the cloud metadata service).
//
// The policy is applied when dialing, to the address actually connected to: a host
// name is resolved once, every resolved address is checked, and the connection goes
// to a checked address, so a name that resolves somewhere else (DNS rebinding, a
// record pointing at 169.254.169.254) does not get through.
//
// Default policy (no allow list): any address except the always-refused ranges
// (AlwaysRefused: link-local, cloud metadata, unspecified, multicast, broadcast).
// Loopback and private ranges stay allowed, so a Bitbucket on the same machine or
// network (and the tests' sandbox on 127.0.0.1) works.
//
// With an allow list (--bitbucket-allowed-hosts), only listed destinations: a host
// name (exact, or "*.example.com" for any name below example.com), an IP address or
// a CIDR. An always-refused address is reached only when a listed IP or CIDR covers
// it; listing a host name never unlocks one.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// AlwaysRefused are the ranges no caller-chosen URL reaches unless an allow list
// names them by IP or CIDR.
var AlwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local; AWS, GCP, Azure, OpenStack metadata 169.254.169.254
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS instance metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud metadata
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", 0.0.0.0
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("224.0.0.0/4"),        // IPv4 multicast
	netip.MustParsePrefix("ff00::/8"),           // IPv6 multicast
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

// Policy is an egress policy. The zero value is not usable; build one with Parse.
// A Policy is safe for concurrent use once built.
type Policy struct {
	// restricted is true when an allow list was given.
	restricted bool
	hosts      []string // lower-case names, "*.suffix" for wildcards
	prefixes   []netip.Prefix
	// lookup resolves a host name (net.DefaultResolver; tests replace it).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dialer *net.Dialer
}

// Parse builds a policy from allow-list entries (host names, "*.domain", IPs or
// CIDRs); no entries gives the default policy. Entries may also be
// comma-separated within one string.
func Parse(entries ...string) (*Policy, error) {
	p := &Policy{lookup: lookupIP, dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
	for _, raw := range entries {
		for _, e := range strings.Split(raw, ",") {
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" {
				continue
			}
			if err := p.add(e); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

func lookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Default is the policy without an allow list.
func Default() *Policy {
	p, _ := Parse()
	return p
}

func (p *Policy) add(e string) error {
	p.restricted = true
	if strings.Contains(e, "/") {
		prefix, err := netip.ParsePrefix(e)
		if err != nil {
			return fmt.Errorf("allowed host %q: not a valid CIDR", e)
		}
		p.prefixes = append(p.prefixes, prefix.Masked())
		return nil
	}
	if addr, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		addr = addr.Unmap()
		p.prefixes = append(p.prefixes, netip.PrefixFrom(addr, addr.BitLen()))
		return nil
	}
	name := strings.TrimSuffix(e, ".")
	check := strings.TrimPrefix(name, "*.")
	if check == "" || strings.ContainsAny(check, "*:/ ") {
		return fmt.Errorf("allowed host %q: want a host name, *.domain, an IP address or a CIDR", e)
	}
	p.hosts = append(p.hosts, name)
	return nil
}

// Restricted reports whether an allow list is in force.
func (p *Policy) Restricted() bool { return p.restricted }

// BlockedError is returned when the policy refuses a destination. Its message names
// the host as the caller gave it, not the address it resolved to.
type BlockedError struct {
	Host string
	// Addr is the refused address (for the server log), zero when the host name
	// itself is not allowed.
	Addr netip.Addr
	// AlwaysRefused is true when Addr lies in AlwaysRefused.
	AlwaysRefused bool
}

func (e *BlockedError) Error() string {
	if e.AlwaysRefused {
		return fmt.Sprintf("egress to %s refused: it resolves to a link-local, metadata or otherwise reserved address", e.Host)
	}
	return fmt.Sprintf("egress to %s refused: not in the allowed hosts", e.Host)
}

func (p *Policy) hostListed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range p.hosts {
		if suffix, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

func (p *Policy) prefixListed(addr netip.Addr) bool {
	for _, prefix := range p.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// CheckAddr tells whether a connection to addr, reached through the name host, is
// allowed (host is the name from the URL, or the address itself).
func (p *Policy) CheckAddr(host string, addr netip.Addr) error {
	addr = addr.Unmap()
	listed := p.prefixListed(addr)
	for _, r := range AlwaysRefused {
		if r.Contains(addr) && !listed {
			return &BlockedError{Host: host, Addr: addr, AlwaysRefused: true}
		}
	}
	if p.restricted && !listed && !p.hostListed(host) {
		return &BlockedError{Host: host, Addr: addr}
	}
	return nil
}

// CheckHost is a cheap early test of a host name or IP literal before any lookup:
// it refuses what no resolution could make allowed. DialContext still checks the
// resolved addresses.
func (p *Policy) CheckHost(host string) error {
	host = strings.Trim(host, "[]")
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(host, addr)
	}
	if p.restricted && !p.hostListed(host) && len(p.prefixes) == 0 {
		return &BlockedError{Host: host}
	}
	return nil
}

// DialContext resolves addr's host, checks every address it resolves to, and
// connects to the first allowed one that answers. It fits http.Transport.DialContext.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var candidates []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		candidates = []netip.Addr{ip}
	} else {
		if err := p.CheckHost(host); err != nil {
			return nil, err
		}
		candidates, err = p.lookup(ctx, host)
		if err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, ip := range candidates {
		if err := p.CheckAddr(host, ip); err != nil {
			errs = append(errs, err)
			continue
		}
		conn, err := p.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("dial %s: no addresses", host)
	}
	// A refusal wins over other failures, so the caller learns why.
	for _, err := range errs {
		var blocked *BlockedError
		if errors.As(err, &blocked) {
			return nil, blocked
		}
	}
	return nil, errs[0]
}

// Transport returns an HTTP transport that dials through the policy and never uses
// a proxy (a proxy would connect on the server's behalf, past the policy). base,
// when not nil, is cloned for its TLS and timeout settings.
func (p *Policy) Transport(base *http.Transport) *http.Transport {
	var t *http.Transport
	if base != nil {
		t = base.Clone()
	} else if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{}
	}
	t.Proxy = nil
	t.DialContext = p.DialContext
	t.DialTLSContext = nil
	return t
}
