// Package vcsagent is the VCS agent's side of the tunnel between orbit-server and a
// Bitbucket Data Center that only the agent can reach, and the protocol both sides
// share (internal/server/agenthub is the server's side).
//
// The agent dials out: an HTTP/1.1 GET of ConnectPath with "Connection: Upgrade",
// "Upgrade: orbit-vcs-agent/1" and the pool token as a bearer credential. orbit-server
// authenticates it, answers 101 and takes the connection over; from then on the
// connection carries a yamux session (github.com/hashicorp/yamux) in which the server
// is the yamux client: it opens one stream per Bitbucket request, writes the request
// in HTTP/1.1 proxy form (absolute URL, http.Request.WriteProxy) and reads the answer
// (http.ReadResponse). The agent accepts streams, checks each request's URL against
// its own Bitbucket URL (Allowed), sends it on and streams the answer back.
package vcsagent

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/yamux"
)

const (
	// ConnectPath is orbit-server's route the agent connects to.
	ConnectPath = "/api/v1/vcs-agents/connect"
	// UpgradeProtocol is the Upgrade token of the handshake; its number changes when
	// the framing does.
	UpgradeProtocol = "orbit-vcs-agent/1"
	// VersionHeader carries the agent's build version in the handshake.
	VersionHeader = "X-Orbit-Agent-Version"
	// BitbucketURLHeader carries the agent's --bitbucket-url in the handshake: the
	// server addresses its requests to it.
	BitbucketURLHeader = "X-Orbit-Agent-Bitbucket-Url"
	// NameHeader carries a name of the agent (its host name unless --name), shown in
	// the list of connected agents.
	NameHeader = "X-Orbit-Agent-Name"
	// RefusedHeader marks an answer the agent made itself (a refused or failed
	// request), not Bitbucket; its value is the reason.
	RefusedHeader = "X-Orbit-Agent-Refused"
)

// SessionConfig is the yamux configuration of both ends: keepalives every 15s (a
// dead peer is noticed within a keepalive and a write timeout), and logs to w
// (yamux's own messages carry no request content).
func SessionConfig(w io.Writer) *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.EnableKeepAlive = true
	cfg.KeepAliveInterval = 15 * time.Second
	cfg.ConnectionWriteTimeout = 10 * time.Second
	cfg.StreamOpenTimeout = 10 * time.Second
	cfg.LogOutput = w
	if w == nil {
		cfg.LogOutput = io.Discard
	}
	return cfg
}

// ParseBitbucketURL checks an agent's --bitbucket-url: an absolute http(s) URL
// without user info, query or fragment. The path (a context path such as
// /bitbucket) is kept without its trailing slash.
func ParseBitbucketURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("bitbucket URL: %w", urlCause(err))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("bitbucket URL %q: want an absolute http:// or https:// URL", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bitbucket URL %q: must not carry user info, a query or a fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// urlCause is what url.Parse found wrong, without the URL it quotes (which may
// carry a password).
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Allowed reports why target is not a request the agent of base may send ("" when it
// is): the same scheme, host and port (the default port of the scheme spelled out or
// not), and a path within base's path once cleaned of "." and ".." segments, with no
// ';' (path parameters).
func Allowed(base, target *url.URL) string {
	if target == nil || !target.IsAbs() {
		return "the request has no absolute URL"
	}
	if target.User != nil {
		return "the request URL carries user info"
	}
	if !strings.EqualFold(target.Scheme, base.Scheme) {
		return fmt.Sprintf("scheme %q is not the agent's Bitbucket URL's (%s)", target.Scheme, base.Scheme)
	}
	if hostPort(target) != hostPort(base) {
		return fmt.Sprintf("host %s is not the agent's Bitbucket host %s", target.Host, base.Host)
	}
	p := target.EscapedPath()
	if p == "" {
		p = "/"
	}
	if strings.Contains(p, "%2e") || strings.Contains(p, "%2E") || strings.Contains(p, "\\") {
		return "the request path hides a dot segment or a backslash"
	}
	if strings.Contains(p, ";") {
		// Path parameters (";jsessionid=...") are read by some servlet containers as
		// part of a segment and ignored by others: a path that means two things.
		return "the request path has a ';' (path parameters)"
	}
	cleaned := path.Clean(p)
	if cleaned != strings.TrimRight(p, "/") && cleaned != p {
		return "the request path has dot segments or doubled slashes"
	}
	prefix := base.EscapedPath()
	if prefix != "" && cleaned != prefix && !strings.HasPrefix(cleaned, prefix+"/") {
		return fmt.Sprintf("path %s is outside the agent's Bitbucket path %s", cleaned, prefix)
	}
	return ""
}

// AllowedMethod reports whether the agent sends a request of method on: the
// methods of Bitbucket's REST API (no CONNECT, TRACE, OPTIONS or made-up ones).
func AllowedMethod(method string) bool {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH":
		return true
	}
	return false
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}
