#!/usr/bin/env bash
# Runs goreleaser at the version pinned in tools/goreleaser/go.mod, with the
# given arguments (e.g. `release --snapshot --clean --skip=sign`).
#
# goreleaser is pinned as a Go tool in its own module, tools/goreleaser, not in
# the main go.mod: its dependency graph (cloud SDKs, container registries, ...)
# would add hundreds of modules to the main module's go.sum that neither the
# provider nor orbit-server uses. golangci-lint and tfplugindocs stay in the main
# go.mod, where `go tool` runs them during everyday work.
#
# Building goreleaser from the module proxy takes minutes on 2 cores, so the
# binary is cached by version under ${XDG_CACHE_HOME:-$HOME/.cache}/orbit-tools/.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools/goreleaser"

version="$(awk '$1 == "github.com/goreleaser/goreleaser/v2" { print $2; exit }' "$tools_dir/go.mod")"
if [[ -z "$version" ]]; then
  echo "error: tools/goreleaser/go.mod does not require github.com/goreleaser/goreleaser/v2" >&2
  exit 1
fi

cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/orbit-tools/goreleaser-$version"
bin="$cache_dir/goreleaser"
if [[ ! -x "$bin" ]]; then
  echo "==> building goreleaser $version (tools/goreleaser; minutes on 2 cores, cached afterwards)" >&2
  mkdir -p "$cache_dir"
  started=$SECONDS
  (cd "$tools_dir" && CGO_ENABLED=0 go build -trimpath -o "$bin.tmp.$$" github.com/goreleaser/goreleaser/v2)
  mv "$bin.tmp.$$" "$bin"
  echo "==> goreleaser $version built in $((SECONDS - started))s" >&2
fi

cd "$repo_root"

# goreleaser asks git for the remote URL along with the commit; in a repository
# without a remote that fails, and a snapshot then drops all the git facts and
# is versioned 0.0.1-snapshot-none. For a snapshot only, the repository itself
# stands in as the remote (git's environment config: nothing is written to
# .git/config), so the version and the binaries name the commit. A real release
# still needs the GitHub remote it publishes to.
if [[ " $* " == *" --snapshot "* && -z "$(git remote)" && -z "${GIT_CONFIG_COUNT:-}" ]]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0="$repo_root"
fi
exec "$bin" "$@"
