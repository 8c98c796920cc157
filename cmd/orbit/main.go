// Command orbit is the Orbit command line. It uses the Terraform provider's clients
// and its configuration conventions: ORBIT_ENDPOINT and ORBIT_API_KEY for
// orbit-server, BITBUCKET_CLOUD_EMAIL, BITBUCKET_CLOUD_API_TOKEN (and
// BITBUCKET_CLOUD_API_URL) for Bitbucket Cloud, BITBUCKET_DC_TOKEN and
// BITBUCKET_DC_API_URL for Bitbucket Data Center.
//
//	orbit version
//	orbit whoami
//	orbit adopt --space ID (--workspace WS | --project KEY)... --out DIR
//	            [--dry-run] [--format md|json] [--dedupe [--yes]] [--force] [--concurrency 8]
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], env{
		getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		terminal: isTerminal(os.Stderr), stdinTerminal: isTerminal(os.Stdin),
	}))
}

// env is what a command may use of its process, so tests run commands in-process.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// terminal: stderr is a terminal (progress then rewrites one line).
	terminal bool
	// stdinTerminal: a person can answer a question on stdin.
	stdinTerminal bool
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `Usage:
  orbit version                 print the version
  orbit whoami                  show the Orbit API key and the Bitbucket accounts in use
  orbit adopt --space ID ...    write Terraform that imports what exists (orbit adopt -h)

Configuration comes from the environment, as for the Terraform provider:
  ORBIT_ENDPOINT, ORBIT_API_KEY
  BITBUCKET_CLOUD_EMAIL, BITBUCKET_CLOUD_API_TOKEN, BITBUCKET_CLOUD_API_URL
  BITBUCKET_DC_TOKEN, BITBUCKET_DC_API_URL
`

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintln(e.stdout, version.String("orbit"))
		return exitOK
	case "whoami":
		err = whoami(ctx, args[1:], e)
	case "adopt":
		err = adoptCommand(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "orbit: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	var usageErr *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usageErr):
		fmt.Fprintf(e.stderr, "orbit %s: %s\n", args[0], usageErr.msg)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "orbit %s: %s\n", args[0], err)
		return exitError
	}
}

// usageError is a wrong command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
