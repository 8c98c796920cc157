package bitbucket

import "github.com/orbit-iac/terraform-provider-orbit/internal/rules"

// IsLoopbackHost reports whether host (a URL's Hostname(): no port, no brackets) is
// "localhost" or a loopback address (127.0.0.0/8, ::1). A Data Center api_host may use
// plain http:// only on such a host, so that a local sandbox can stand in for a
// server; every other host needs https. The rule lives in package rules, which the
// provider's plan-time check uses too.
func IsLoopbackHost(host string) bool { return rules.IsLoopbackHost(host) }
