#!/usr/bin/env bash
# Checks the release artifacts of `make release-snapshot` (dist/) the way a user
# meets them, then installs the provider from them:
#   - SHA256SUMS lists every archive with its right hash, and the registry
#     manifest is published next to it (equal to terraform-registry-manifest.json);
#   - the provider zips of the registry platforms and the orbit-server archives
#     for linux/darwin amd64/arm64 are there;
#   - the linux/amd64 orbit-server reports the release version;
#   - the linux/amd64 provider zip, laid out as a Terraform filesystem mirror, is
#     installed by `terraform init` with a CLI config that has no dev_overrides,
#     and examples/quickstart is applied and destroyed with it against that
#     orbit-server and the Bitbucket sandbox (scripts/demo.sh does that part).
# Works with Terraform or OpenTofu (scripts/find-terraform.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
dist="${DIST_DIR:-$repo_root/dist}"

shopt -s nullglob
sums=("$dist"/terraform-provider-orbit_*_SHA256SUMS)
if (( ${#sums[@]} != 1 )); then
  echo "error: want one terraform-provider-orbit_<version>_SHA256SUMS in $dist, found ${#sums[@]}; run make release-snapshot" >&2
  exit 1
fi
sums_file="$(basename "${sums[0]}")"
version="${sums_file#terraform-provider-orbit_}"
version="${version%_SHA256SUMS}"
echo "==> release $version in $dist"

# Terraform and OpenTofu lower-case a packed mirror's file names before reading
# the version from them, and match pre-release identifiers case-sensitively: a
# version with capitals (0.0.1-SNAPSHOT-abc1234) is found as another version and
# no `version = "= ..."` constraint can select it.
if [[ "$version" != "${version,,}" ]]; then
  echo "error: version $version has capital letters; a filesystem mirror serves it as ${version,,}, which no constraint naming $version matches (lower-case the tag or .goreleaser.yml's snapshot.version_template)" >&2
  exit 1
fi

echo "==> SHA256SUMS"
(cd "$dist" && sha256sum --check --strict "$sums_file")

manifest="$dist/terraform-provider-orbit_${version}_manifest.json"
if ! cmp -s "$manifest" terraform-registry-manifest.json; then
  echo "error: $manifest is missing or differs from terraform-registry-manifest.json" >&2
  exit 1
fi
if ! grep -q "  terraform-provider-orbit_${version}_manifest.json\$" "$dist/$sums_file"; then
  echo "error: $sums_file does not list the manifest" >&2
  exit 1
fi

missing=0
for platform in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64; do
  zip="terraform-provider-orbit_${version}_${platform}.zip"
  if ! grep -q "  $zip\$" "$dist/$sums_file"; then
    echo "error: $zip is not in $sums_file" >&2
    missing=1
  fi
done
for platform in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64; do
  archive="orbit-server_${version}_${platform}.tar.gz"
  if ! grep -q "  $archive\$" "$dist/$sums_file"; then
    echo "error: $archive is not in $sums_file" >&2
    missing=1
  fi
done
(( missing == 0 ))
echo "all provider zips and orbit-server archives are listed and match their hashes"

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/orbit-release-test.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT
tar -xzf "$dist/orbit-server_${version}_linux_amd64.tar.gz" -C "$work_dir"
for f in orbit-server orbit-vcs-agent LICENSE CHANGELOG.md OPERATIONS.md deploy/orbit-server.service; do
  if [[ ! -e "$work_dir/$f" ]]; then
    echo "error: the orbit-server archive has no $f" >&2
    exit 1
  fi
done
reported="$("$work_dir/orbit-server" --version)"
echo "$reported"
if [[ "$reported" != "orbit-server $version "* ]]; then
  echo "error: orbit-server --version says '$reported', want version $version" >&2
  exit 1
fi

agent_reported="$("$work_dir/orbit-vcs-agent" --version)"
if [[ "$agent_reported" != "orbit-vcs-agent $version" ]]; then
  echo "error: orbit-vcs-agent --version says '$agent_reported', want version $version" >&2
  exit 1
fi

DEMO_PROVIDER_ZIP="$dist/terraform-provider-orbit_${version}_linux_amd64.zip" \
DEMO_ORBIT_SERVER="$work_dir/orbit-server" \
  scripts/demo.sh
echo "release $version installs from a filesystem mirror and applies examples/quickstart"
