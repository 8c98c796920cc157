package httpx

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses a comma-separated list of IP addresses and CIDRs (the
// --trusted-proxies flag) into Config.TrustedProxies. Spaces around entries and empty
// entries are ignored; anything else that is not an address or a CIDR is an error
// naming the entry.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(e, "/") {
			var err error
			if p, err = netip.ParsePrefix(e); err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", e)
			}
		} else {
			addr, err := netip.ParseAddr(e)
			if err != nil || addr.Zone() != "" {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", e)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		prefixes = append(prefixes, NormalizeProxyPrefix(p))
	}
	return prefixes, nil
}

// NormalizeProxyPrefix masks p and writes an IPv4-mapped IPv6 range (::ffff:10.0.0.0/104)
// as the IPv4 range it covers, since addresses are unmapped before they are matched.
func NormalizeProxyPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// PeerAddr is the host part of the connection's peer address.
func PeerAddr(remoteAddr string) string {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return canonicalAddr(ap.Addr())
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// ClientAddress is the one rule deciding a request's client address.
//
// It is the connection's peer unless the peer is one of trusted. Then the
// X-Forwarded-For entries (every header line, in order, split at commas) are walked
// from the right, skipping trusted proxies; the first address that is not one is the
// client. Everything left of it was written by whoever sent the request to that
// address and may be forged, so it is never read. The peer is used instead when the
// walk meets an entry that is not an IP address (with or without a port) before it
// finds the client, and when the header is absent or names only trusted proxies: a
// proxy that hides its client counts as one client itself.
//
// Addresses are written canonically (IPv4-mapped IPv6 as IPv4, no zone) so that one
// client is one key of the rate limiter however a proxy spells it.
func ClientAddress(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) string {
	peer := PeerAddr(remoteAddr)
	if len(trusted) == 0 || len(forwardedFor) == 0 {
		return peer
	}
	peerIP, err := netip.ParseAddr(peer)
	if err != nil || !isTrustedProxy(peerIP, trusted) {
		return peer
	}
	// Walk from the right without splitting the whole header: a client may send a
	// long one, of which only the entries right of it are read.
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		line := forwardedFor[i]
		for {
			cut := strings.LastIndexByte(line, ',')
			addr, ok := parseForwardedAddr(line[cut+1:])
			if !ok {
				return peer
			}
			if !isTrustedProxy(addr, trusted) {
				return canonicalAddr(addr)
			}
			if cut < 0 {
				break
			}
			line = line[:cut]
		}
	}
	return peer
}

// parseForwardedAddr reads one X-Forwarded-For entry: an IPv4 or IPv6 address,
// optionally with a port (1.2.3.4:5, [2001:db8::1]:5) or in brackets, spaces around.
func parseForwardedAddr(entry string) (netip.Addr, bool) {
	entry = strings.TrimSpace(entry)
	if addr, err := netip.ParseAddr(entry); err == nil {
		return addr, true
	}
	if ap, err := netip.ParseAddrPort(entry); err == nil {
		return ap.Addr(), true
	}
	if strings.HasPrefix(entry, "[") && strings.HasSuffix(entry, "]") {
		if addr, err := netip.ParseAddr(entry[1 : len(entry)-1]); err == nil && addr.Is6() {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

func isTrustedProxy(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func canonicalAddr(addr netip.Addr) string {
	return addr.Unmap().WithZone("").String()
}
