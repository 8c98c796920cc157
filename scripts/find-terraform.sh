#!/usr/bin/env bash
# Prints the absolute path of the Terraform (or OpenTofu) binary the build uses,
# or fails with what to install. Order: $TF_ACC_TERRAFORM_PATH, `terraform` on
# PATH, `tofu` on PATH. Nothing is ever downloaded.
set -euo pipefail

# `terraform version` otherwise asks checkpoint-api.hashicorp.com about upgrades.
export CHECKPOINT_DISABLE=1

# require_version BIN: Terraform or OpenTofu 1.11.0 or later (write-only attributes
# need 1.11 in both). A prerelease comes before its release, as in the acceptance
# tests' pin (internal/provider acceptableTerraform; a Go test holds the two
# together): "OpenTofu v1.11.0-dev", what an OpenTofu built without
# -X .../version.dev=no reports, is refused by both.
require_version() {
  local bin="$1" version core pre major minor patch
  version="$("$bin" version 2>/dev/null | grep -E -m1 '^(Terraform|OpenTofu) v' | grep -Eo 'v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?' | head -n1 || true)"
  version="${version#v}"
  core="${version%%-*}"
  pre=""
  if [[ "$version" == *-* ]]; then
    pre="${version#*-}"
  fi
  IFS=. read -r major minor patch <<<"${core:-0.0.0}"
  local too_old=0
  if (( major < 1 || (major == 1 && minor < 11) )); then
    too_old=1
  elif (( major == 1 && minor == 11 && patch == 0 )) && [[ -n "$pre" ]]; then
    too_old=1
  fi
  if (( too_old )); then
    echo "error: $bin is version ${version:-unknown}; Terraform >= 1.11 (or OpenTofu >= 1.11, e.g. from make tofu) is required" >&2
    exit 1
  fi
}

if [[ -n "${TF_ACC_TERRAFORM_PATH:-}" ]]; then
  if [[ -x "$TF_ACC_TERRAFORM_PATH" && ! -d "$TF_ACC_TERRAFORM_PATH" ]]; then
    require_version "$TF_ACC_TERRAFORM_PATH"
    echo "$TF_ACC_TERRAFORM_PATH"
    exit 0
  fi
  echo "error: TF_ACC_TERRAFORM_PATH=$TF_ACC_TERRAFORM_PATH is not an executable file" >&2
  exit 1
fi

for candidate in terraform tofu; do
  if found="$(command -v "$candidate" 2>/dev/null)"; then
    require_version "$found"
    echo "$found"
    exit 0
  fi
done

cat >&2 <<'MSG'
error: no Terraform binary found.
  Install Terraform >= 1.11 (write-only attributes need it) or OpenTofu and put it
  on PATH, or set TF_ACC_TERRAFORM_PATH to the binary. The acceptance tests and the
  docs/examples targets run the real CLI and never download one.
MSG
exit 1
