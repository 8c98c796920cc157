package main

// The deployment files (Dockerfile, deploy/orbit-server.service) and the docs'
// examples, checked without a container runtime or systemd: their instructions,
// the variables they name, and the Dockerfile's own build command, run here.

import (
	"bytes"
	"debug/elf"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
)

// knownVariables are the environment variables orbit-server reads.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{"ORBIT_SECRET_KEY": true, "ORBIT_BOOTSTRAP_KEY": true, newKeyEnvVar: true,
		// OPERATIONS.md also runs orbit-vcs-agent, whose one variable is its pool token.
		vcsagent.TokenEnv: true}
	fs := serverFlagSet(t)
	for name := range setOfFlagNames(fs) {
		if !flagsWithoutEnv[name] {
			known[envName(name)] = true
		}
	}
	return known
}

var orbitVariable = regexp.MustCompile(`\bORBIT_[A-Z0-9_]+`)

func checkVariables(t *testing.T, file, text string) {
	t.Helper()
	known := knownVariables(t)
	for _, v := range orbitVariable.FindAllString(text, -1) {
		if !known[v] {
			t.Errorf("%s names %s, which orbit-server does not read", file, v)
		}
	}
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

func parseDockerfile(t *testing.T, text string) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// runMounts are the --mount options that begin a RUN instruction.
var runMounts = regexp.MustCompile(`^(--mount=\S+\s+)+`)

func TestDockerfile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	checkVariables(t, "Dockerfile", text)
	all := parseDockerfile(t, text)

	// Multi-stage: a Go build stage, then a runtime stage that copies from it.
	var stages [][]instruction
	for _, in := range all {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	if from := stages[0][0].args; !strings.HasPrefix(from, "golang:") || !strings.HasSuffix(from, " AS build") {
		t.Errorf("first stage FROM %q, want golang:... AS build", from)
	}
	final := stages[len(stages)-1]
	if strings.HasPrefix(final[0].args, "golang:") {
		t.Errorf("the runtime stage is the Go image %q", final[0].args)
	}
	get := func(cmd string) []string {
		var args []string
		for _, in := range final {
			if in.cmd == cmd {
				args = append(args, in.args)
			}
		}
		return args
	}
	if copies := strings.Join(get("COPY"), "\n"); !strings.Contains(copies, "--from=build /out/orbit-server ") {
		t.Errorf("the runtime stage does not copy the built binary: %q", copies)
	}
	users := get("USER")
	if len(users) != 1 || users[0] == "root" || strings.HasPrefix(users[0], "0") {
		t.Errorf("USER %q, want one non-root user", users)
	}
	if v := get("VOLUME"); len(v) != 1 || !strings.Contains(v[0], `"/data"`) {
		t.Errorf("VOLUME %q, want /data", v)
	}
	env := strings.Join(get("ENV"), " ")
	// The database, and so its key file (<db>.key), inside the volume.
	if !strings.Contains(env, "ORBIT_DB=/data/") {
		t.Errorf("ENV %q does not put ORBIT_DB in /data", env)
	}
	listen := regexp.MustCompile(`ORBIT_LISTEN=0\.0\.0\.0:(\d+)`).FindStringSubmatch(env)
	if listen == nil {
		t.Fatalf("ENV %q: want ORBIT_LISTEN on all interfaces", env)
	}
	if expose := get("EXPOSE"); len(expose) != 1 || expose[0] != listen[1] {
		t.Errorf("EXPOSE %q, want the listen port %s", expose, listen[1])
	}
	health := get("HEALTHCHECK")
	if len(health) != 1 || !strings.Contains(health[0], `CMD ["/usr/local/bin/orbit-server", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q, want CMD orbit-server healthcheck", health)
	}
	if ep := get("ENTRYPOINT"); len(ep) != 1 || ep[0] != `["/usr/local/bin/orbit-server"]` {
		t.Errorf("ENTRYPOINT %q", ep)
	}

	// The build stage's go build, run as the image would run it: a static binary
	// that reports the version it was given.
	var build string
	for _, in := range stages[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			// BuildKit's cache mounts are options of RUN, not part of the command.
			build = runMounts.ReplaceAllString(in.args, "")
		}
	}
	if !strings.HasPrefix(build, "CGO_ENABLED=0 go build ") || !strings.HasSuffix(build, " -o /out/orbit-server ./cmd/orbit-server") {
		t.Fatalf("build command %q, want CGO_ENABLED=0 go build ... -o /out/orbit-server ./cmd/orbit-server", build)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the static-binary check reads ELF: linux only")
	}
	out := filepath.Join(t.TempDir(), "orbit-server")
	command := strings.NewReplacer("${VERSION}", "7.8.9", "${COMMIT}", "c0ffee1", "/out/orbit-server", out).Replace(build)
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = filepath.Join("..", "..")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, msg)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s): it would not run on a distroless static image", p.Type)
		}
	}
	got, err := exec.Command(out, "--version").Output()
	if err != nil || !bytes.HasPrefix(got, []byte("orbit-server 7.8.9 (commit c0ffee1) ")) {
		t.Errorf("--version of the image's binary: %q, %v", got, err)
	}
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "orbit-server.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	checkVariables(t, "deploy/orbit-server.service", text)
	settings := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("line %q is not key=value", line)
			continue
		}
		settings[key] = append(settings[key], value)
	}
	for key, want := range map[string]string{
		"ExecStart":               "/usr/local/bin/orbit-server",
		"DynamicUser":             "yes",
		"StateDirectory":          "orbit",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallFilter":        "@system-service",
		"UMask":                   "0077",
		"KillSignal":              "SIGTERM",
	} {
		if got := settings[key]; len(got) == 0 || got[0] != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	// The database in the state directory, which is the only writable place.
	if env := strings.Join(settings["Environment"], " "); !strings.Contains(env, "ORBIT_DB=/var/lib/orbit/") {
		t.Errorf("Environment %q does not put ORBIT_DB in /var/lib/orbit", env)
	}
}

// No example in the docs puts a PostgreSQL password on a command line, where ps
// shows it to every user of the host: not in `--db`, nor in a `pg_dump` or
// `psql` connection string, in any Markdown file of the repository, the
// Dockerfile or deploy/. A URL with a password may only be the value of an
// environment variable (VAR=postgres://...) or a here-string written to a file.
func TestDocsKeepPasswordsOutOfArgv(t *testing.T) {
	t.Parallel()
	files := []string{"Dockerfile"}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case ".git", "testdata", "dist", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".md") || strings.HasPrefix(rel, "deploy"+string(filepath.Separator)) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range passwordsInArgv(string(raw)) {
			t.Errorf("%s: %q puts a PostgreSQL password in argv; use ORBIT_DB, --db-file, PGPASSWORD or a PGPASSFILE", name, bad)
		}
		switch name {
		case "OPERATIONS.md", "Dockerfile", filepath.Join("deploy", "orbit-server.service"):
			// The README also names the provider's ORBIT_ENDPOINT and ORBIT_API_KEY.
			checkVariables(t, name, string(raw))
		}
	}
}

// passwordURL is a postgres:// URL with user:password@, and what stands before it
// on its line.
var passwordURL = regexp.MustCompile(`(?m)^(.*?)['"]?postgres(?:ql)?://[^/\s@:'"]+:[^/\s@'"]+@`)

// envAssignment ends a line's text just before an environment variable's value.
var envAssignment = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*=$`)

// passwordsInArgv returns the lines of text that pass a password URL as an argument.
func passwordsInArgv(text string) []string {
	var bad []string
	for _, m := range passwordURL.FindAllStringSubmatch(text, -1) {
		before := strings.TrimRight(m[1], " ")
		if envAssignment.MatchString(before) || strings.HasSuffix(before, "<<<") {
			continue
		}
		bad = append(bad, strings.TrimSpace(m[0]))
	}
	return bad
}

func TestPasswordsInArgv(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"orbit-server --db postgres://orbit:pw@db/orbit":                 true,
		"orbit-server --db='postgres://orbit:pw@db/orbit'":               true,
		"pg_dump --dbname=postgresql://orbit:pw@db/orbit":                true,
		"psql 'postgres://orbit:pw@db:5432/orbit?sslmode=require'":       true,
		"export ORBIT_DB='postgres://orbit:pw@db/orbit'":                 false,
		"ORBIT_DB=postgres://orbit:pw@db/orbit orbit-server":             false,
		"install -m 0600 /dev/stdin db-url <<<'postgres://orbit:...@db'": false,
		"orbit-server --db postgres://orbit@db/orbit":                    false,
		"orbit-server --db-file /etc/orbit/db-url":                       false,
	} {
		if got := len(passwordsInArgv(text)) > 0; got != want {
			t.Errorf("%q: flagged %v, want %v", text, got, want)
		}
	}
}

// setOfFlagNames names every flag of fs.
func setOfFlagNames(fs *flag.FlagSet) map[string]bool {
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}
