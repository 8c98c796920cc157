#!/usr/bin/env bash
# make demo: build the provider, orbit-server and the Bitbucket sandbox, run the
# server (temporary SQLite database) and the sandbox on loopback, apply
# examples/quickstart through a dev_overrides CLI config, show the outputs and the
# webhooks the sandbox now holds, fire a push and a pull request through the sandbox
# to the server's receiver and show the runs and the commit statuses that came back,
# prove a second plan is empty, then destroy and stop.
# Unattended: no prompts, nothing read from stdin, everything in one temp directory
# that is removed on any exit. Works with Terraform or OpenTofu (whichever
# scripts/find-terraform.sh finds, e.g. TF_ACC_TERRAFORM_PATH="$(make -s tofu)").
#
# Release check (scripts/test-release-install.sh): with DEMO_PROVIDER_ZIP set to a
# released provider zip, the provider is not built but installed by `terraform
# init` from a filesystem mirror made of that zip, with a CLI config that has no
# dev_overrides (and no direct installation: nothing is downloaded); with
# DEMO_ORBIT_SERVER set to a released orbit-server binary, that one runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
terraform_bin="$(scripts/find-terraform.sh)"
color_flag=()
if [[ -n "${CI:-}" || ! -t 1 ]]; then
  color_flag=(-no-color)
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/orbit-demo.XXXXXX")"
server_pid=""
sandbox_pid=""

cleanup() {
  local status=$?
  if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "==> stopping bitbucket-sandbox (pid $sandbox_pid)"
    kill -TERM "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    echo "==> stopping orbit-server (pid $server_pid)"
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if (( status != 0 )) && [[ -s "$work_dir/server.log" ]]; then
    echo "---- last lines of the orbit-server log ----" >&2
    tail -n 20 "$work_dir/server.log" >&2 || true
  fi
  if (( status != 0 )) && [[ -s "$work_dir/sandbox.log" ]]; then
    echo "---- last lines of the bitbucket-sandbox log ----" >&2
    tail -n 20 "$work_dir/sandbox.log" >&2 || true
  fi
  rm -rf "$work_dir"
  if (( status != 0 )); then
    echo "demo FAILED (exit $status)" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { echo; echo "==> $*"; }

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# http_status URL: the HTTP status code of a GET, or 000 when nothing answers.
http_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || echo 000
    return
  fi
  local rest="${1#http://}" hostport path line
  hostport="${rest%%/*}"
  path="/${rest#*/}"
  if ! exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null; then
    echo 000
    return
  fi
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
  IFS= read -r -t 2 line <&3 || line=""
  exec 3>&-
  line="${line#HTTP/* }"
  echo "${line:0:3}"
}

# A loopback port nobody listens on right now (the server start is retried should
# another process take it in between).
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

mkdir -p "$work_dir/bin"
if [[ -n "${DEMO_PROVIDER_ZIP:-}" ]]; then
  step "installing terraform-provider-orbit from a filesystem mirror of $(basename "$DEMO_PROVIDER_ZIP")"
else
  step "building terraform-provider-orbit into $work_dir/bin"
  go build -o "$work_dir/bin/terraform-provider-orbit" .
fi
if [[ -n "${DEMO_ORBIT_SERVER:-}" ]]; then
  step "using orbit-server $DEMO_ORBIT_SERVER ($("$DEMO_ORBIT_SERVER" --version))"
  cp "$DEMO_ORBIT_SERVER" "$work_dir/bin/orbit-server"
else
  step "building orbit-server into $work_dir/bin"
  go build -o "$work_dir/bin/orbit-server" ./cmd/orbit-server
fi
step "building bitbucket-sandbox"
go build -o "$work_dir/sandbox-bin/bitbucket-sandbox" ./cmd/bitbucket-sandbox

step "starting the Bitbucket sandbox on loopback (demo data: workspace acme, project PLAT)"
sandbox_url=""
for attempt in 1 2 3; do
  port="$(free_port)"
  "$work_dir/sandbox-bin/bitbucket-sandbox" --listen "127.0.0.1:$port" --seed \
    </dev/null >"$work_dir/sandbox.out" 2>"$work_dir/sandbox.log" &
  sandbox_pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
      break
    fi
    # Any HTTP answer means it listens (the API itself wants credentials).
    if [[ "$(http_status "http://127.0.0.1:$port/_sandbox/hooks")" == 200 ]]; then
      sandbox_url="http://127.0.0.1:$port"
      break
    fi
    sleep 0.25
  done
  if [[ -n "$sandbox_url" ]]; then
    break
  fi
  echo "bitbucket-sandbox did not start on port $port (attempt $attempt)" >&2
  kill -TERM "$sandbox_pid" 2>/dev/null || true
  wait "$sandbox_pid" 2>/dev/null || true
  sandbox_pid=""
done
if [[ -z "$sandbox_url" ]]; then
  echo "error: bitbucket-sandbox did not start" >&2
  exit 1
fi
echo "bitbucket-sandbox is ready at $sandbox_url"

# An admin key in orbit-server's format (orbit_<key id>_<base64url of 32 bytes>),
# installed on the empty database, so the demo knows it without parsing output.
admin_key="orbit_k_demo$(random_hex 6)_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"

step "starting orbit-server on loopback (SQLite at $work_dir/orbit.db)"
endpoint=""
for attempt in 1 2 3; do
  port="$(free_port)"
  # Credentials are checked against the sandbox, as they would be against Bitbucket.
  ORBIT_BOOTSTRAP_KEY="$admin_key" "$work_dir/bin/orbit-server" \
    --listen "127.0.0.1:$port" \
    --db "$work_dir/orbit.db" \
    --shutdown-delay 0 \
    --bitbucket-cloud-api-url "$sandbox_url" \
    </dev/null >"$work_dir/server.out" 2>"$work_dir/server.log" &
  server_pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      break
    fi
    if [[ "$(http_status "http://127.0.0.1:$port/readyz")" == 200 ]]; then
      endpoint="http://127.0.0.1:$port"
      break
    fi
    sleep 0.25
  done
  if [[ -n "$endpoint" ]]; then
    break
  fi
  echo "orbit-server did not become ready on port $port (attempt $attempt)" >&2
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
if [[ -z "$endpoint" ]]; then
  echo "error: orbit-server did not start" >&2
  exit 1
fi
echo "orbit-server is ready at $endpoint"

cp -R examples/quickstart "$work_dir/quickstart"

# Terraform resolves source = "orbit-iac/orbit" to registry.terraform.io/orbit-iac/orbit,
# OpenTofu to registry.opentofu.org/orbit-iac/orbit: the CLI config names both.
if [[ -n "${DEMO_PROVIDER_ZIP:-}" ]]; then
  zip_name="$(basename "$DEMO_PROVIDER_ZIP")"
  provider_version="${zip_name#terraform-provider-orbit_}"
  provider_version="${provider_version%_*_*.zip}"
  step "writing a filesystem mirror (packed layout) and a CLI config without dev_overrides (provider $provider_version)"
  for host in registry.terraform.io registry.opentofu.org; do
    mkdir -p "$work_dir/mirror/$host/orbit-iac/orbit"
    cp "$DEMO_PROVIDER_ZIP" "$work_dir/mirror/$host/orbit-iac/orbit/"
  done
  cat >"$work_dir/terraformrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$work_dir/mirror"
    include = ["registry.terraform.io/orbit-iac/orbit", "registry.opentofu.org/orbit-iac/orbit"]
  }
}
CFG
  # A snapshot is a prerelease, which a constraint selects only when it names it
  # exactly; a tagged release would need no pin.
  cat >"$work_dir/quickstart/release_pin_override.tf" <<TF
terraform {
  required_providers {
    orbit = {
      source  = "orbit-iac/orbit"
      version = "= $provider_version"
    }
  }
}
TF
else
  step "writing a Terraform CLI config with dev_overrides for registry.terraform.io and registry.opentofu.org"
  cat >"$work_dir/terraformrc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/orbit-iac/orbit"  = "$work_dir/bin"
    "registry.opentofu.org/orbit-iac/orbit" = "$work_dir/bin"
  }
  direct {}
}
CFG
fi
export TF_CLI_CONFIG_FILE="$work_dir/terraformrc"

cd "$work_dir/quickstart"

if [[ -n "${DEMO_PROVIDER_ZIP:-}" ]]; then
  step "terraform init (from the filesystem mirror only)"
  "$terraform_bin" init -input=false "${color_flag[@]}" </dev/null
  if ! grep -q "\"$provider_version\"" .terraform.lock.hcl; then
    echo "error: .terraform.lock.hcl does not record provider $provider_version" >&2
    exit 1
  fi
  # What init unpacked: the one binary of the zip, reporting the release version.
  installed=(.terraform/providers/*/orbit-iac/orbit/"$provider_version"/*/terraform-provider-orbit_v"$provider_version")
  if (( ${#installed[@]} != 1 )) || [[ ! -x "${installed[0]}" ]]; then
    echo "error: terraform init did not install terraform-provider-orbit_v$provider_version" >&2
    find .terraform/providers >&2 || true
    exit 1
  fi
  "${installed[0]}" --version
  if [[ "$("${installed[0]}" --version)" != "terraform-provider-orbit $provider_version "* ]]; then
    echo "error: the installed provider does not report version $provider_version" >&2
    exit 1
  fi
fi

export ORBIT_ENDPOINT="$endpoint"
export ORBIT_API_KEY="$admin_key"
# Ephemeral input variables: sent to orbit-server through write-only attributes,
# never written to state or plan files.
# The integrations' own credentials are the sandbox's demo accounts: orbit-server
# posts commit statuses with them. Data Center is reached on the sandbox itself
# (api_host accepts http:// on loopback only).
export TF_VAR_bitbucket_cloud_email="dev@example.com"
export TF_VAR_bitbucket_cloud_api_token="sandbox-cloud-admin-token"
export TF_VAR_bitbucket_dc_api_host="$sandbox_url"
export TF_VAR_bitbucket_dc_username="admin"
export TF_VAR_bitbucket_dc_access_token="sandbox-dc-admin-token"
# Repository-admin credentials the provider installs webhooks with: the sandbox's
# demo accounts (sandbox-only values, printed by bitbucket-sandbox --seed).
export BITBUCKET_CLOUD_API_URL="$sandbox_url"
export BITBUCKET_CLOUD_EMAIL="dev@example.com"
export BITBUCKET_CLOUD_API_TOKEN="sandbox-cloud-admin-token"
export BITBUCKET_DC_API_URL="$sandbox_url"
export BITBUCKET_DC_TOKEN="sandbox-dc-admin-token"

step "terraform apply (examples/quickstart)"
"$terraform_bin" apply -auto-approve -input=false "${color_flag[@]}" </dev/null

step "terraform output (sensitive values are shown as <sensitive>)"
"$terraform_bin" output "${color_flag[@]}" </dev/null

for secret in "$TF_VAR_bitbucket_cloud_api_token" "$TF_VAR_bitbucket_dc_access_token"; do
  if grep -qF "$secret" terraform.tfstate; then
    echo "error: a write-only token was found in terraform.tfstate" >&2
    exit 1
  fi
done
echo "write-only tokens are absent from terraform.tfstate"

step "stacks and the repositories they track"
"$terraform_bin" output "${color_flag[@]}" stacks </dev/null

step "webhooks the Bitbucket sandbox now holds (secret_set only, never the secret)"
"$work_dir/sandbox-bin/bitbucket-sandbox" hooks --url "$sandbox_url"

step "a push and a pull request through the sandbox: runs, results and commit statuses"
(cd "$repo_root" && go run ./scripts/demoloop --orbit "$endpoint" --sandbox "$sandbox_url")

step "terraform plan -detailed-exitcode (must show no changes)"
plan_status=0
"$terraform_bin" plan -detailed-exitcode -input=false "${color_flag[@]}" </dev/null || plan_status=$?
case "$plan_status" in
  0) echo "no changes: the applied configuration matches orbit-server" ;;
  2) echo "error: terraform plan right after apply wants changes" >&2; exit 1 ;;
  *) echo "error: terraform plan failed (exit $plan_status)" >&2; exit 1 ;;
esac

step "terraform destroy"
"$terraform_bin" destroy -auto-approve -input=false "${color_flag[@]}" </dev/null

step "demo finished"
