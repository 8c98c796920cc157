// Command bitbucket-sandbox serves the Bitbucket Cloud and Data Center sandbox on one
// port, for the demo and for manual testing. See internal/sandbox/CONTROL.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8790", "address to listen on")
	publicURL := flag.String("public-url", "", "URL clients use to reach the sandbox (default http://<listen address>)")
	seed := flag.Bool("seed", false, "load demo data (a workspace, a DC project, repositories, users and tokens) and print the credentials")
	deliveryTimeout := flag.Duration("delivery-timeout", 10*time.Second, "timeout of one webhook delivery attempt")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, *listen, *publicURL, *seed, *deliveryTimeout); err != nil {
		logger.Error("bitbucket-sandbox stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger, listen, publicURL string, seed bool, deliveryTimeout time.Duration) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	srv := sandbox.New(sandbox.Config{BaseURL: publicURL, DeliveryTimeout: deliveryTimeout, Logger: logger})
	if seed {
		demo := sandbox.DemoSeed()
		if err := srv.Seed(demo); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		printDemo(publicURL, demo)
	}
	httpServer := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	logger.Info("bitbucket-sandbox listening", "url", publicURL, "cloud", publicURL+"/2.0", "datacenter", publicURL+"/rest/api/latest")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("bitbucket-sandbox stopped")
	return nil
}

// printDemo shows the demo credentials once, on stdout, so a person can copy them; these
// are sandbox-only values, never real secrets.
func printDemo(url string, seed sandbox.Seed) {
	fmt.Printf("Bitbucket sandbox at %s\n", url)
	for _, u := range seed.Cloud.Users {
		for _, t := range u.APITokens {
			fmt.Printf("  Cloud      %s  email %s  api token %s (scopes %v)\n", url+"/2.0", u.Email, t.Token, t.Scopes)
		}
		for _, ap := range u.AppPasswords {
			fmt.Printf("  Cloud      app password %s:%s (rejected, as Bitbucket does since 2026-07-28)\n", ap.Username, ap.Password)
		}
	}
	for _, r := range seed.Cloud.Repositories {
		fmt.Printf("  Cloud      repository %s/%s\n", r.Workspace, r.Slug)
	}
	for _, u := range seed.DataCenter.Users {
		for _, t := range u.Tokens {
			fmt.Printf("  DataCenter %s  user %s  token %s (%s on %s)\n", url+"/rest", u.Name, t.Token, t.Permission, t.Project)
		}
	}
	for _, r := range seed.DataCenter.Repositories {
		fmt.Printf("  DataCenter repository %s/%s\n", r.Project, r.Slug)
	}
	fmt.Printf("  try: curl -u %s:%s %s/2.0/user\n", seed.Cloud.Users[0].Email, seed.Cloud.Users[0].APITokens[0].Token, url)
}
