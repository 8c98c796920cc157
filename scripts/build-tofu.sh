#!/usr/bin/env bash
# Builds OpenTofu from its Go module source at a pinned version and prints the
# path of the binary. `go install github.com/opentofu/opentofu/cmd/tofu@...` fails
# on the module's replace directives, so the module is downloaded through the
# module proxy (`go mod download -json` names its directory), copied to a writable
# directory and built there, as a release build: without
# -X .../version.dev=no it reports "1.12.6-dev", a prerelease that both
# scripts/find-terraform.sh and the acceptance tests reject.
#
# The binary is cached by version under ${XDG_CACHE_HOME:-$HOME/.cache}/orbit-tools/;
# a cold build takes minutes on 2 cores, a cached one nothing.
#
#   scripts/build-tofu.sh            # prints .../orbit-tools/tofu-v1.12.6/tofu
#   TOFU_VERSION=v1.11.0 scripts/build-tofu.sh
set -euo pipefail

# The version the project's CI runs its acceptance tests and demo with.
TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/orbit-tools"
out_dir="$cache_root/tofu-$TOFU_VERSION"
bin="$out_dir/tofu"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root"
work_dir="$(mktemp -d "$cache_root/.tofu-build.XXXXXX")"
trap 'chmod -R u+w "$work_dir" 2>/dev/null || true; rm -rf "$work_dir"' EXIT

# The module proxy only: no VCS, no other network. Outside any module so the
# download does not touch a go.mod.
module_dir="$(cd "$work_dir" && GOFLAGS=-mod=mod GO111MODULE=on \
  go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$module_dir" || ! -d "$module_dir" ]]; then
  echo "error: go mod download did not name a directory for opentofu $TOFU_VERSION" >&2
  exit 1
fi

echo "==> building OpenTofu $TOFU_VERSION from $module_dir (minutes on 2 cores; cached afterwards)" >&2
cp -R "$module_dir" "$work_dir/src"
chmod -R u+w "$work_dir/src"
started=$SECONDS
(
  cd "$work_dir/src"
  CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X 'github.com/opentofu/opentofu/version.dev=no'" \
    -o "$work_dir/tofu" ./cmd/tofu
)
echo "==> OpenTofu $TOFU_VERSION built in $((SECONDS - started))s" >&2

# The version line, not the first line: with TF_CLI_CONFIG_FILE naming a missing
# file, OpenTofu prints a warning about it first (on stdout); Terraform does not.
reported="$("$work_dir/tofu" version 2>/dev/null | grep -m1 '^OpenTofu v' || true)"
if [[ "$reported" != "OpenTofu ${TOFU_VERSION}" ]]; then
  echo "error: the built binary reports '$reported', want 'OpenTofu $TOFU_VERSION'" >&2
  exit 1
fi

mkdir -p "$out_dir"
mv "$work_dir/tofu" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "$bin"
