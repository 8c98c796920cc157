#!/usr/bin/env bash
# Regenerates docs/ from templates/, examples/ and the provider schema with
# tfplugindocs (pinned in go.mod as a tool).
#
# tfplugindocs builds the provider itself and asks a Terraform binary for the
# schema. It looks for `terraform` on PATH and downloads the latest release when
# there is none, so we put exactly the binary from find-terraform.sh first on
# PATH: it is always found and nothing is downloaded.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

terraform_bin="$(scripts/find-terraform.sh)"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
mkdir -p "$work_dir/bin"
ln -s "$terraform_bin" "$work_dir/bin/terraform"
# An empty CLI config: a developer's dev_overrides or mirrors must not change the
# schema tfplugindocs sees (its `terraform init` uses a local plugin dir only).
: >"$work_dir/terraformrc"

PATH="$work_dir/bin:$PATH" \
TF_CLI_CONFIG_FILE="$work_dir/terraformrc" \
CHECKPOINT_DISABLE=1 \
  go tool tfplugindocs generate \
    --provider-dir "$repo_root" \
    --provider-name orbit \
    --rendered-provider-name Orbit
