// Package rules holds the validation rules orbit-server enforces and the provider
// checks at plan time, in one place: patterns, allowed values, lengths (counted in
// characters, never bytes) and the URL rules. The server (internal/server) and the
// provider (internal/provider) both use it, and a test in internal/server holds the
// OpenAPI document's patterns, enums and lengths to these values.
//
// The package depends on the standard library only, so either side may import it.
package rules

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lengths, in characters.
const (
	MaxNameLen        = 100  // names of spaces, stacks and API keys; at least 1, not blank
	MaxDescriptionLen = 4096 // description
	MaxIDLen          = 255  // space_id, parent_space_id, roles[].space_id, path ids
	MaxUsernameLen    = 255  // username
	MaxEmailLen       = 254  // email (the longest address SMTP carries)
	MaxCredentialLen  = 4096 // api_token, app_password, access_token
	MaxURLLen         = 2048 // api_host, user_facing_host
	MaxLabelLen       = 63   // one label (LabelPattern)
	MaxIntegrationLen = 63   // an integration name (IntegrationNamePattern)
)

// Patterns, as regular expressions (RE2, also valid ECMA-262 for the OpenAPI document).
const (
	LabelPattern           = `^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$`
	IntegrationNamePattern = `^[a-z0-9][a-z0-9_-]{0,62}$`
	// PoolPattern is a VCS agent pool's name, the <pool> of api_host = private://<pool>.
	PoolPattern = `^[a-z0-9][a-z0-9_-]{0,62}$`
)

// Compiled patterns.
var (
	Label           = regexp.MustCompile(LabelPattern)
	IntegrationName = regexp.MustCompile(IntegrationNamePattern)
	Pool            = regexp.MustCompile(PoolPattern)
)

// Allowed values.
var (
	// VCSChecks are the values of vcs_checks, in documentation order.
	VCSChecks = []string{"individual", "aggregated", "all"}
	// Roles, weakest first.
	Roles = []string{"read", "write", "admin"}
	// Providers are the integration kinds.
	Providers = []string{"bitbucket_cloud", "bitbucket_datacenter"}
)

// DefaultVCSChecks is vcs_checks when none is given.
const DefaultVCSChecks = "individual"

// PrivateHostPrefix introduces a Data Center reached through a private worker pool.
const PrivateHostPrefix = "private://"

// Length is the length of s as both sides count it: in characters.
func Length(s string) int { return utf8.RuneCountInString(s) }

// NameProblem says why a space, stack or API key name is not acceptable ("" when it
// is). Names are shown in lists, logs and terminals, so control characters (NUL, line
// breaks, escapes) and the bidirectional overrides and isolates that reorder what a
// reader sees (U+202A-U+202E, U+2066-U+2069) are refused.
func NameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "must not be blank"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case Length(name) > MaxNameLen:
		return fmt.Sprintf("must be at most %d characters", MaxNameLen)
	}
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (found U+%04X)", r)
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return fmt.Sprintf("must not contain bidirectional override or isolate characters (found U+%04X)", r)
		}
	}
	return ""
}

// URLRule says what a URL attribute accepts.
type URLRule struct {
	AllowHTTP    bool // http:// as well as https:// (the orbit endpoint, Bitbucket API bases)
	AllowPrivate bool // private://<pool> (api_host)
	// AllowLoopbackHTTP accepts http:// on a loopback host (localhost, 127.0.0.0/8,
	// ::1) where https:// is otherwise required (api_host, for a local Bitbucket).
	AllowLoopbackHTTP bool
}

// IsLoopbackHost reports whether host (without port) is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URLProblem says why raw is not acceptable under rule ("" when it is). It never
// quotes raw: use RedactURL to show it.
func URLProblem(raw string, rule URLRule) string {
	if rule.AllowPrivate {
		if pool, ok := strings.CutPrefix(raw, PrivateHostPrefix); ok {
			if !Pool.MatchString(pool) {
				return "the pool name must be lowercase letters, digits, _ and -, starting with a letter or digit"
			}
			return ""
		}
	}
	if Length(raw) > MaxURLLen {
		return fmt.Sprintf("it must be at most %d characters", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "it does not parse as a URL"
	}
	switch {
	case rule.AllowHTTP && u.Scheme != "https" && u.Scheme != "http":
		return "the scheme must be http or https"
	case !rule.AllowHTTP && rule.AllowLoopbackHTTP && u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return "http:// is allowed only on a loopback host (localhost, 127.0.0.0/8, ::1)"
	case !rule.AllowHTTP && u.Scheme != "https" && !(rule.AllowLoopbackHTTP && u.Scheme == "http"):
		return "the scheme must be https"
	case u.Host == "" || u.Hostname() == "":
		return "the host is missing"
	case u.User != nil:
		return "credentials do not belong in the URL"
	case u.RawQuery != "" || u.ForceQuery:
		return "a query string is not allowed"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "a fragment is not allowed"
	}
	if problem := portProblem(u); problem != "" {
		return problem
	}
	return ""
}

func portProblem(u *url.URL) string {
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		// No port (or an IPv6 literal without one); url.Parse already vetted the rest.
		if strings.HasSuffix(u.Host, ":") {
			return "the port is empty"
		}
		return ""
	}
	if port == "" {
		return "the port is empty"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "the port must be a number from 1 to 65535"
	}
	return ""
}

// RedactURL returns raw with any userinfo replaced by *** (https://u:p@host becomes
// https://***@host), for showing a URL in a message. A value that does not parse is
// cut at its last "@" the same way.
func RedactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	authority = "***" + authority[at:]
	if ok {
		return scheme + "://" + authority + path
	}
	return authority + path
}

// EmailProblem says why email is not a plain address such as dev@example.com ("" when
// it is one).
func EmailProblem(email string) string {
	if Length(email) > MaxEmailLen {
		return fmt.Sprintf("must be at most %d characters", MaxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return "must be an email address, plain, such as dev@example.com"
	}
	return ""
}
