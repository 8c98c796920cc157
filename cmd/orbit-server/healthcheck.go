package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// defaultListen is where orbit-server listens without --listen / ORBIT_LISTEN, and
// where `orbit-server healthcheck` looks.
const defaultListen = "127.0.0.1:8700"

const healthcheckUsage = `usage: orbit-server healthcheck [--listen ADDR] [--timeout 5s]

GETs /healthz of the orbit-server listening on ADDR (--listen, else ORBIT_LISTEN as
the server reads it, else ` + defaultListen + `; an unspecified address such as
0.0.0.0 is asked on loopback) and exits 0 when it answers 200, 1 otherwise.
For container HEALTHCHECKs, where the image has no curl.
`

// healthcheck runs the healthcheck subcommand and returns the process exit code.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("orbit-server healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, healthcheckUsage) }
	listen := fs.String("listen", defaultListen, "address orbit-server listens on")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !setFlags(fs)["listen"] && getenv(envName("listen")) != "" {
		*listen = getenv(envName("listen"))
	}
	url, err := healthURL(*listen)
	if err != nil {
		fmt.Fprintln(stderr, "orbit-server healthcheck:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "orbit-server healthcheck:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "orbit-server healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "orbit-server healthcheck: %s answered %s\n", url, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", url)
	return 0
}

// healthURL is the /healthz URL of a server listening on listen; an unspecified
// host (0.0.0.0, ::, none) is reached on loopback.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
