package main

// Running the real terraform binary on a directory orbit adopt wrote, with this
// module's provider served in-process and handed to Terraform through
// TF_REATTACH_PROVIDERS under the address the output names
// (registry.terraform.io/orbit-iac/orbit), so nothing is built or downloaded.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/orbit-iac/terraform-provider-orbit/internal/provider"
)

const providerAddress = "registry.terraform.io/orbit-iac/orbit"

// terraformBinary is TF_ACC_TERRAFORM_PATH, else terraform on PATH; an acceptance
// run without one fails rather than skips.
func terraformBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("TF_ACC is set but no terraform binary was found: install Terraform >= 1.11 or set TF_ACC_TERRAFORM_PATH")
	}
	return p
}

type terraform struct {
	t      *testing.T
	binary string
	dir    string
	env    []string
}

func newTerraform(t *testing.T, dir string, vars map[string]string) *terraform {
	t.Helper()
	rc := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	for k, v := range vars {
		env = append(env, "TF_VAR_"+k+"="+v)
	}
	return &terraform{t: t, binary: terraformBinary(t), dir: dir, env: env}
}

// run runs terraform args in the directory with a fresh in-process provider, and
// returns stdout and the exit code; a failure to start is fatal.
func (tf *terraform) run(args ...string) (string, int) {
	tf.t.Helper()
	reattach, stop := serveProvider(tf.t)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf.binary, args...)
	cmd.Dir = tf.dir
	cmd.Env = append(tf.env, "TF_REATTACH_PROVIDERS="+reattach)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &exitErr):
		if code := exitErr.ExitCode(); code == 2 && slices.Contains(args, "-detailed-exitcode") {
			return stdout.String(), code
		}
		tf.t.Fatalf("terraform %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	default:
		tf.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return "", -1
}

// serveProvider starts the provider in debug mode and returns the
// TF_REATTACH_PROVIDERS value and a stop function.
func serveProvider(t *testing.T) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	configCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- tf6server.Serve(providerAddress, providerserver.NewProtocol6(provider.New("acctest")()),
			tf6server.WithDebug(ctx, configCh, closeCh), tf6server.WithLoggingSink(t),
			tf6server.WithGoPluginLogger(hclog.New(&hclog.LoggerOptions{Output: io.Discard})))
	}()
	var config *plugin.ReattachConfig
	select {
	case config = <-configCh:
	case err := <-serveErr:
		cancel()
		t.Fatalf("serving the provider: %v", err)
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("the provider did not start serving within a minute")
	}
	type addr struct{ Network, String string }
	type reattach struct {
		Protocol        string
		ProtocolVersion int
		Pid             int
		Test            bool
		Addr            addr
	}
	raw, err := json.Marshal(map[string]reattach{providerAddress: {
		Protocol: string(config.Protocol), ProtocolVersion: config.ProtocolVersion, Pid: config.Pid, Test: config.Test,
		Addr: addr{Network: config.Addr.Network(), String: config.Addr.String()},
	}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return string(raw), func() {
		cancel()
		<-closeCh
	}
}

// planChanges is what a saved plan does, from terraform show -json.
type planChanges struct {
	imports map[string]string // address -> import id
	changes map[string]string // address -> create, update, delete, replace (no-op left out)
}

func (tf *terraform) showPlan(planFile string) planChanges {
	tf.t.Helper()
	out, _ := tf.run("show", "-json", planFile)
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions   []string `json:"actions"`
				Importing *struct {
					ID string `json:"id"`
				} `json:"importing"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		tf.t.Fatalf("terraform show -json: %v", err)
	}
	pc := planChanges{imports: map[string]string{}, changes: map[string]string{}}
	for _, rc := range plan.ResourceChanges {
		if rc.Change.Importing != nil {
			pc.imports[rc.Address] = rc.Change.Importing.ID
		}
		action := strings.Join(rc.Change.Actions, ",")
		switch action {
		case "no-op", "read":
		case "delete,create", "create,delete":
			pc.changes[rc.Address] = "replace"
		default:
			pc.changes[rc.Address] = action
		}
	}
	return pc
}
