package adopt

import (
	"net/url"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// URLMatch says how a hook's URL relates to the Orbit integrations.
type URLMatch int

const (
	// Foreign: not an Orbit webhook URL (another service's hook). Left alone.
	Foreign URLMatch = iota
	// Exact: byte for byte the integration's webhook_url.
	Exact
	// Equivalent: the integration's webhook_url written differently (scheme or host
	// case, a default port, trailing or doubled slashes): Bitbucket delivers to the
	// same place, but the provider rewrites it to the canonical form.
	Equivalent
	// Old: the integration's path (/webhooks/{product}/{name}) under another base
	// URL, such as orbit-server's address before it moved, or the name in other case.
	Old
	// UnknownOrbit: an Orbit webhook path naming no integration of that product
	// (deleted, renamed, or of another orbit-server).
	UnknownOrbit
)

func (m URLMatch) String() string {
	switch m {
	case Exact:
		return "exact"
	case Equivalent:
		return "equivalent"
	case Old:
		return "old"
	case UnknownOrbit:
		return "unknown_orbit"
	}
	return "foreign"
}

// productSegments are the path segments orbit-server's receiver serves
// (/webhooks/bitbucket-cloud/{name}, /webhooks/bitbucket-datacenter/{name}); the
// spellings with an underscore, as the API's provider names are written, are
// recognised too, since people type those by hand.
var productSegments = map[string]string{
	"bitbucket-cloud":      orbitapi.ProviderBitbucketCloud,
	"bitbucket_cloud":      orbitapi.ProviderBitbucketCloud,
	"bitbucket-datacenter": orbitapi.ProviderBitbucketDataCenter,
	"bitbucket_datacenter": orbitapi.ProviderBitbucketDataCenter,
}

// NormalizeURL is the form two webhook URLs are compared in: scheme and host in
// lower case, no default port, no user information, query or fragment, runs of
// slashes collapsed and no trailing slash. The path keeps its case (orbit-server's
// routes are case-sensitive). ok is false for anything but an absolute http(s) URL.
func NormalizeURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if port := u.Port(); port != "" && !(scheme == "http" && port == "80") && !(scheme == "https" && port == "443") {
		host += ":" + port
	}
	return scheme + "://" + host + cleanPath(u.EscapedPath()), true
}

func cleanPath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return strings.TrimRight(p, "/")
}

// orbitPath finds /webhooks/{product}/{name} at the end of a URL's path: the provider
// type and the name (lower-cased), ok false when the path is not an Orbit one.
func orbitPath(raw string) (provider, name string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", "", false
	}
	segments := strings.Split(strings.Trim(cleanPath(u.EscapedPath()), "/"), "/")
	if len(segments) < 3 {
		return "", "", false
	}
	tail := segments[len(segments)-3:]
	if !strings.EqualFold(tail[0], "webhooks") {
		return "", "", false
	}
	provider, ok = productSegments[strings.ToLower(tail[1])]
	if !ok || tail[2] == "" {
		return "", "", false
	}
	name, err = url.PathUnescape(tail[2])
	if err != nil {
		return "", "", false
	}
	return provider, strings.ToLower(name), true
}

// Matcher matches hook URLs to the integrations orbit-server knows.
type Matcher struct {
	byName map[string]*orbitapi.Integration // provider + "/" + name
}

// NewMatcher indexes integrations by provider type and name.
func NewMatcher(integrations []orbitapi.Integration) *Matcher {
	m := &Matcher{byName: map[string]*orbitapi.Integration{}}
	for i := range integrations {
		in := &integrations[i]
		m.byName[in.Provider+"/"+strings.ToLower(in.Name)] = in
	}
	return m
}

// Match finds the integration a hook of a repository of product (an orbitapi
// provider type) delivers to. The integration is nil for Foreign and UnknownOrbit.
// A Cloud repository's hook can only deliver to a Cloud integration, and so on: a
// Data Center path on a Cloud repository is UnknownOrbit.
func (m *Matcher) Match(product, hookURL string) (*orbitapi.Integration, URLMatch) {
	provider, name, ok := orbitPath(hookURL)
	if !ok {
		return nil, Foreign
	}
	in := m.byName[provider+"/"+name]
	if in == nil || provider != product {
		return nil, UnknownOrbit
	}
	if hookURL == in.WebhookURL {
		return in, Exact
	}
	got, okGot := NormalizeURL(hookURL)
	want, okWant := NormalizeURL(in.WebhookURL)
	if okGot && okWant && got == want {
		return in, Equivalent
	}
	return in, Old
}
