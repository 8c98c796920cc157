// Command orbit-vcs-agent runs inside a network that orbit-server cannot reach and
// carries orbit-server's requests to the Bitbucket Data Center there: it connects
// out to orbit-server with a pool token and sends on only the requests addressed to
// its --bitbucket-url. See the guide "Bitbucket Data Center behind a firewall" and
// OPERATIONS.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// TokenEnv is the environment variable holding the pool token (or use --token-file).
const TokenEnv = vcsagent.TokenEnv

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "orbit-vcs-agent:", err)
		os.Exit(1)
	}
}

// options are the agent's flags.
type options struct {
	orbitURL, bitbucketURL, tokenFile, name string
	listenHealth, logLevel, logFormat       string
	orbitCAFile, bitbucketCAFile            string
	showVersion, insecureHTTP               bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("orbit-vcs-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.orbitURL, "orbit-url", "", "orbit-server's base URL, as the agent reaches it: https:// (http:// only to a loopback host, or with --insecure-orbit-url-allow-http)")
	fs.BoolVar(&o.insecureHTTP, "insecure-orbit-url-allow-http", false, "INSECURE: accept an http:// --orbit-url to any host; the pool token then crosses the network in clear text")
	fs.StringVar(&o.bitbucketURL, "bitbucket-url", "", "the Bitbucket Data Center base URL (with its context path, if any): the only place the agent sends requests to")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the pool token (default: the "+TokenEnv+" environment variable); never pass the token itself as an argument")
	fs.StringVar(&o.name, "name", "", "the agent's name in orbit-server's list of connected agents (default: the host name)")
	fs.StringVar(&o.listenHealth, "listen-health", "", "address serving /healthz, /readyz (connected to orbit-server) and /metrics, e.g. 127.0.0.1:8791 (default: none)")
	fs.StringVar(&o.orbitCAFile, "orbit-ca-file", "", "PEM file of certificate authorities to trust for orbit-server, besides the system's")
	fs.StringVar(&o.bitbucketCAFile, "bitbucket-ca-file", "", "PEM file of certificate authorities to trust for Bitbucket, besides the system's")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "json", "json or text")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		// Not echoed: it may be the token itself.
		return o, fmt.Errorf("%d unexpected argument(s): orbit-vcs-agent takes flags only; the pool token goes in %s or --token-file, never on the command line", fs.NArg(), TokenEnv)
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "orbit-vcs-agent", version.Get())
		return nil
	}
	logger, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	token, err := readToken(o.tokenFile, getenv)
	if err != nil {
		return err
	}
	if o.orbitURL == "" || o.bitbucketURL == "" {
		return errors.New("--orbit-url and --bitbucket-url are required")
	}
	cfg := vcsagent.Config{OrbitURL: o.orbitURL, BitbucketURL: o.bitbucketURL, Token: token, Name: o.name,
		Version: version.Get(), Logger: logger, InsecureOrbitURLAllowHTTP: o.insecureHTTP}
	if o.orbitCAFile != "" {
		roots, err := loadRoots(o.orbitCAFile)
		if err != nil {
			return err
		}
		cfg.OrbitTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	}
	if o.bitbucketCAFile != "" {
		roots, err := loadRoots(o.bitbucketCAFile)
		if err != nil {
			return err
		}
		cfg.BitbucketTransport = vcsagent.BitbucketTransport(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots})
	}
	agent, err := vcsagent.New(cfg)
	if err != nil {
		return err
	}
	if o.listenHealth != "" {
		ln, err := net.Listen("tcp", o.listenHealth)
		if err != nil {
			return fmt.Errorf("--listen-health: %w", err)
		}
		srv := &http.Server{Handler: agent.HealthHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		logger.Info("orbit-vcs-agent health and metrics", "addr", ln.Addr().String())
	}
	logger.Info("orbit-vcs-agent starting", "version", version.Get(), "orbit_url", o.orbitURL, "bitbucket_url", o.bitbucketURL)
	err = agent.Run(ctx)
	logger.Info("orbit-vcs-agent stopped")
	return err
}

// readToken reads the pool token from --token-file, or else the environment.
func readToken(file string, getenv func(string) string) (string, error) {
	token := getenv(TokenEnv)
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		token = string(raw)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("no pool token: set %s or --token-file", TokenEnv)
	}
	return token, nil
}

func loadRoots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return roots, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
