package provider

import (
	"net/http"
	"time"
)

// idleConnsPerHost is how many idle connections the provider keeps to each host
// (orbit-server, Bitbucket). Terraform applies 10 resources at once by default
// (-parallelism); net/http keeps 2 idle connections per host unless told otherwise,
// so 8 of every 10 concurrent requests would open a new connection (a new TLS
// handshake against Bitbucket) and close it afterwards.
const idleConnsPerHost = 32

// newHTTPClient is the HTTP client of one provider process's API clients: the
// default transport (proxy from the environment, HTTP/2, TLS and dial timeouts)
// with connections kept for Terraform's parallel resources, and the clients' 60 s
// timeout per request.
func newHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t.MaxIdleConns = 4 * idleConnsPerHost
	t.MaxIdleConnsPerHost = idleConnsPerHost
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}
