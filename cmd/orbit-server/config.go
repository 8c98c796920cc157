package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

// envPrefix starts the environment variable of every orbit-server flag:
// --queue-lease is also ORBIT_QUEUE_LEASE. A flag on the command line wins over
// its variable; the variable wins over the default.
const envPrefix = "ORBIT_"

// flagsWithoutEnv are the flags that ask for something rather than configure the
// server, so no variable stands for them.
var flagsWithoutEnv = map[string]bool{"version": true}

// envName is the environment variable that stands for the flag name.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// errVersionPrinted is what parseFlags returns after --version printed the version:
// the process exits 0 without starting anything.
var errVersionPrinted = errors.New("version printed")

// helpError is returned for -h/--help (errors.Is(err, flag.ErrHelp)); it carries
// the flag set, which the configuration table is generated from.
type helpError struct{ fs *flag.FlagSet }

func (*helpError) Error() string { return flag.ErrHelp.Error() }
func (*helpError) Unwrap() error { return flag.ErrHelp }

// newFlagSet is the flag set of orbit-server (the run command), with a usage text
// that names the environment variables, and the flags every run has: --version,
// --log-level, --log-format and --db-file.
func newFlagSet(stderr io.Writer) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet("orbit-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: orbit-server [flags]\n       orbit-server rekey [--db ...]\n       orbit-server backup --to FILE [--db ...]\n       orbit-server healthcheck [--listen ...]\n\n")
		fmt.Fprintf(stderr, "Every flag but --version may also be given as the environment variable %s<FLAG>\n", envPrefix)
		fmt.Fprintf(stderr, "(--queue-lease is %s); a flag on the command line wins over its variable.\n\n", envName("queue-lease"))
		fs.PrintDefaults()
	}
	c := &commonFlags{}
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	fs.StringVar(&c.logLevel, "log-level", "info", "least severe log level written: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format on stderr: json (one object a line) or text (key=value)")
	fs.StringVar(&c.dbFile, "db-file", "", "read the --db value (a postgres:// URL with its password, or a SQLite path) from this file, so the password is in neither argv nor the environment; e.g. a systemd credential or a container secret. Not together with --db / ORBIT_DB")
	return fs, c
}

// commonFlags are the flags newFlagSet defines.
type commonFlags struct {
	version   bool
	logLevel  string
	logFormat string
	dbFile    string
}

// parseFlags parses args, then gives every flag that args did not set the value
// of its ORBIT_* variable when that is set and not empty. It handles --version
// (printed to stdout, errVersionPrinted) and -h (a *helpError), and resolves
// --db-file into --db.
func parseFlags(fs *flag.FlagSet, c *commonFlags, args []string, getenv func(string) string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpError{fs: fs}
		}
		return err
	}
	if c.version {
		fmt.Fprintln(stdout, version.String("orbit-server"))
		return errVersionPrinted
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	if c.dbFile != "" {
		set := setFlags(fs)
		if set["db"] {
			return errors.New("--db-file and --db (or ORBIT_DB) both name the database: give one")
		}
		raw, err := os.ReadFile(c.dbFile)
		if err != nil {
			// The path is named, never the content.
			return fmt.Errorf("--db-file: %w", err)
		}
		value := strings.TrimSpace(string(raw))
		if value == "" || strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("--db-file: %s must hold one line, the database URL or path", c.dbFile)
		}
		if err := fs.Set("db", value); err != nil {
			return fmt.Errorf("--db-file: %w", err)
		}
	}
	return nil
}

// applyEnv sets every flag that the command line left alone from its ORBIT_*
// variable. An invalid value is an error naming the variable.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := setFlags(fs)
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || flagsWithoutEnv[f.Name] {
			return
		}
		value := getenv(envName(f.Name))
		if value == "" {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			// Say which variable without repeating its value, which may be a secret.
			errs = append(errs, fmt.Errorf("%s: not a valid value for --%s", envName(f.Name), f.Name))
		}
	})
	return errors.Join(errs...)
}

// setFlags names the flags given so far (on the command line or by applyEnv).
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// newLogger is the server's logger on w at the given level and format.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: %q is not one of json, text", format)
	}
}

// configTable is the Markdown table of every flag, its variable, default and
// help, sorted by flag name: OPERATIONS.md holds a copy between markers, which
// TestConfigurationTable keeps equal to it.
func configTable(fs *flag.FlagSet) string {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	var b strings.Builder
	b.WriteString("| Flag | Environment variable | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, f := range flags {
		env := "`" + envName(f.Name) + "`"
		if flagsWithoutEnv[f.Name] {
			env = "—"
		}
		def := "`" + f.DefValue + "`"
		if f.DefValue == "" {
			def = "(empty)"
		}
		usage := strings.ReplaceAll(f.Usage, "|", "\\|")
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, usage)
	}
	return b.String()
}
