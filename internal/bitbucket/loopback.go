package bitbucket

import (
	"net"
	"strings"
)

// IsLoopbackHost reports whether host (a URL's Hostname(): no port, no brackets) is
// "localhost" or a loopback address (127.0.0.0/8, ::1). A Data Center api_host may use
// plain http:// only on such a host, so that a local sandbox can stand in for a
// server; every other host needs https.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
