// Command bitbucket-sandbox serves the Bitbucket Cloud and Data Center sandbox on one
// port, for the demo and for manual testing. See internal/sandbox/CONTROL.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hooks" {
		if err := printHooks(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bitbucket-sandbox hooks:", err)
			os.Exit(1)
		}
		return
	}
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

// printHooks is `bitbucket-sandbox hooks --url URL`: a table of the hooks a running
// sandbox holds, with whether each has a secret, never the secret itself.
func printHooks(args []string) error {
	fs := flag.NewFlagSet("hooks", flag.ContinueOnError)
	sandboxURL := fs.String("url", "http://127.0.0.1:8790", "URL of the running sandbox")
	if err := fs.Parse(args); err != nil {
		return err
	}
	resp, err := http.Get(strings.TrimRight(*sandboxURL, "/") + "/_sandbox/hooks")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /_sandbox/hooks: %s", resp.Status)
	}
	var all map[string][]sandbox.HookView
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PRODUCT\tREPOSITORY\tHOOK\tACTIVE\tSECRET_SET\tURL\tEVENTS")
	for _, product := range []string{"cloud", "datacenter"} {
		for _, h := range all[product] {
			fmt.Fprintf(w, "%s\t%s/%s\t%s\t%t\t%t\t%s\t%s\n", h.Product, h.Namespace, h.Repository, h.ID, h.Active, h.Secret != "", h.URL, strings.Join(h.Events, ","))
		}
	}
	return w.Flush()
}
