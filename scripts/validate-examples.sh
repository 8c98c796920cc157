#!/usr/bin/env bash
# Runs `terraform validate` on every example directory under examples/ against a
# freshly built provider, through a dev_overrides CLI config in a temporary
# directory. dev_overrides makes Terraform use the local binary without
# `terraform init`, so no registry is contacted; examples therefore must not use
# any other provider. Also checks `terraform fmt` and the syntax of import.sh.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

terraform_bin="$(scripts/find-terraform.sh)"
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

echo "==> building provider into $work_dir/plugin"
mkdir -p "$work_dir/plugin"
go build -o "$work_dir/plugin/terraform-provider-orbit" .

cat >"$work_dir/terraformrc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/orbit-iac/orbit" = "$work_dir/plugin"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$work_dir/terraformrc"
export CHECKPOINT_DISABLE=1
export TF_IN_AUTOMATION=1

echo "==> terraform fmt -check examples/"
if ! "$terraform_bin" fmt -check -recursive -diff examples; then
  echo "error: examples/ is not formatted; run 'make fmt'" >&2
  exit 1
fi

failed=0
checked=0
while IFS= read -r example_dir; do
  rel="${example_dir#./}"
  copy="$work_dir/examples/$rel"
  mkdir -p "$copy"
  cp -R "$example_dir"/. "$copy"/
  # Doc snippets (resources/<type>/resource.tf, ...) leave out the terraform
  # block; give them the provider source so the dev override applies.
  if ! grep -Rqs 'required_providers' "$copy"/*.tf; then
    cat >"$copy/zz_required_providers.tf" <<'TF'
terraform {
  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}
TF
  fi
  # An example with local modules (bind-many-repositories) needs them installed:
  # `terraform get` only links local paths, nothing is downloaded.
  if out="$(cd "$copy" && { ! grep -qs '^module ' ./*.tf || "$terraform_bin" get -no-color; } && "$terraform_bin" validate -no-color 2>&1)"; then
    echo "ok   $rel"
  else
    echo "FAIL $rel"
    echo "$out" | sed 's/^/     /'
    failed=$((failed + 1))
  fi
  checked=$((checked + 1))
done < <(find ./examples -name '*.tf' -exec dirname {} \; | sort -u)

while IFS= read -r script; do
  if ! bash -n "$script"; then
    echo "FAIL $script (bash syntax)"
    failed=$((failed + 1))
  fi
done < <(find ./examples -name '*.sh' | sort)

if (( checked == 0 )); then
  echo "error: no examples found under examples/" >&2
  exit 1
fi
if (( failed > 0 )); then
  echo "error: $failed example(s) failed validation" >&2
  exit 1
fi
echo "all $checked example directories are valid"
