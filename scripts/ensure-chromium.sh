#!/usr/bin/env bash
# Makes sure a headless Chromium is on this machine for the browser test
# (internal/server/runpage, TestBrowserRunPage). It looks where the test looks:
# $ORBIT_CHROMIUM, then chromium / chromium-browser on PATH. When none is found
# and this runs as root on Debian/Ubuntu, it installs Debian's `chromium`
# package with apt-get; otherwise it fails saying what to install. The browser
# test is never skipped silently: without Chromium it fails and names this script.
set -euo pipefail

package=chromium

find_chromium() {
  if [[ -n "${ORBIT_CHROMIUM:-}" ]]; then
    [[ -x "$ORBIT_CHROMIUM" ]] && { echo "$ORBIT_CHROMIUM"; return 0; }
    return 1
  fi
  local name p
  for name in chromium chromium-browser; do
    if p="$(command -v "$name" 2>/dev/null)"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

if bin="$(find_chromium)"; then
  echo "Chromium: $("$bin" --version 2>/dev/null || echo unknown version) at $bin"
  exit 0
fi
if [[ -n "${ORBIT_CHROMIUM:-}" ]]; then
  echo "error: ORBIT_CHROMIUM=$ORBIT_CHROMIUM is not an executable" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found; installing $package with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  if bin="$(find_chromium)"; then
    echo "Chromium: $("$bin" --version 2>/dev/null || echo unknown version) at $bin"
    exit 0
  fi
fi

echo "error: Chromium not found in \$ORBIT_CHROMIUM or PATH (chromium, chromium-browser)." >&2
echo "       Install it (Debian/Ubuntu: apt-get install $package), or point ORBIT_CHROMIUM at the binary." >&2
exit 1
