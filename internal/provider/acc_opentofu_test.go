package provider

// What the acceptance tests do differently under OpenTofu, in one place.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// accOpenTofu is true when the pinned binary is OpenTofu (pinTerraform sets it).
var accOpenTofu bool

// openTofuFixedEphemeralPlan is the first OpenTofu whose JSON plan no longer lists
// an ephemeral resource with the action "open".
var openTofuFixedEphemeralPlan = goversion.Must(goversion.NewVersion("1.12.0"))

// acceptableTerraform is the version rule of the acceptance tests and of
// scripts/find-terraform.sh (TestFindTerraformAgreesWithAcceptanceTests holds the
// two together): 1.11.0 or later, where a prerelease (1.11.0-dev, which an
// OpenTofu built without -X .../version.dev=no reports) comes before its release.
// Write-only attributes need 1.11 in both Terraform and OpenTofu.
func acceptableTerraform(v string) bool {
	have, err := goversion.NewVersion(v)
	return err == nil && !have.LessThan(minTerraform)
}

// isOpenTofu reports whether binary is OpenTofu: its `version` starts "OpenTofu".
func isOpenTofu(binary string) (bool, error) {
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		return false, fmt.Errorf("running %s version: %w", binary, err)
	}
	return bytes.HasPrefix(out, []byte("OpenTofu")), nil
}

// useOpenTofuAddresses makes terraform-plugin-testing name the provider under test
// as OpenTofu resolves a provider without a source: registry.opentofu.org/hashicorp/<name>.
// Without it every test fails at init under OpenTofu (the framework's default
// host is registry.terraform.io, and its "-" legacy namespace is Terraform's).
// Values the caller already set are kept.
func useOpenTofuAddresses() error {
	for name, value := range map[string]string{
		"TF_ACC_PROVIDER_HOST":      "registry.opentofu.org",
		"TF_ACC_PROVIDER_NAMESPACE": "hashicorp",
	} {
		if os.Getenv(name) != "" {
			continue
		}
		if err := os.Setenv(name, value); err != nil {
			return err
		}
	}
	return nil
}

// skipOnOpenTofuEphemeralPlanBug skips a test whose configuration holds an
// ephemeral resource under OpenTofu before 1.12: its JSON plan lists the ephemeral
// resource with the action "open", which terraform-plugin-testing counts as a
// planned change, so the empty-plan check after apply fails. The same tests pass
// on Terraform and on OpenTofu 1.12 and later; the skip says so in the test output.
type skipOnOpenTofuEphemeralPlanBug struct{}

func (skipOnOpenTofuEphemeralPlanBug) CheckTerraformVersion(_ context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	if accOpenTofu && req.TerraformVersion != nil && req.TerraformVersion.LessThan(openTofuFixedEphemeralPlan) {
		resp.Skip = fmt.Sprintf("OpenTofu %s lists an ephemeral resource in its JSON plan with the action \"open\", which the testing library counts as a change (an OpenTofu bug fixed in 1.12); this test runs on Terraform and on OpenTofu >= 1.12", req.TerraformVersion)
	}
}

// scripts/find-terraform.sh (what make test, make demo and the docs targets run)
// accepts exactly the versions the acceptance tests accept.
func TestFindTerraformAgreesWithAcceptanceTests(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "find-terraform.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ product, version string }{
		{"Terraform", "1.10.5"},
		{"Terraform", "1.11.0"},
		{"Terraform", "1.11.0-rc1"},
		{"Terraform", "1.14.2"},
		{"OpenTofu", "1.11.0-dev"},
		{"OpenTofu", "1.11.0"},
		{"OpenTofu", "1.12.0-dev"},
		{"OpenTofu", "1.12.6"},
		{"OpenTofu", "1.9.4"},
		{"Terraform", "2.0.0"},
	} {
		dir := t.TempDir()
		fake := filepath.Join(dir, "terraform")
		body := fmt.Sprintf("#!/bin/sh\nif [ \"$2\" = -json ]; then echo '{\"terraform_version\":\"%s\"}'; else echo '%s v%s'; echo 'on linux_amd64'; fi\n", tc.version, tc.product, tc.version)
		if err := os.WriteFile(fake, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "TF_ACC_TERRAFORM_PATH="+fake)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		scriptAccepts := err == nil && strings.TrimSpace(string(out)) == fake
		if want := acceptableTerraform(tc.version); scriptAccepts != want {
			t.Errorf("%s %s: find-terraform.sh accepts=%v (%s), acceptance tests accept=%v", tc.product, tc.version, scriptAccepts, strings.TrimSpace(stderr.String()), want)
		}
	}
}
