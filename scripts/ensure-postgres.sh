#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries the tests need (initdb, pg_ctl,
# postgres) are on this machine, looking where internal/server/store/postgres/pgtest
# looks: $ORBIT_PG_BINDIR, PATH, /usr/lib/postgresql/*/bin. When they are
# missing and this runs as root on Debian/Ubuntu, it installs postgresql-15 with
# apt-get; otherwise it fails saying what to install. The PostgreSQL tests are
# never skipped.
set -euo pipefail

package=postgresql-15

has_bins() {
  local dir="$1"
  [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]
}

find_bindir() {
  if [[ -n "${ORBIT_PG_BINDIR:-}" ]]; then
    has_bins "$ORBIT_PG_BINDIR" && { echo "$ORBIT_PG_BINDIR"; return 0; }
    return 1
  fi
  local p
  if p="$(command -v initdb 2>/dev/null)" && has_bins "$(dirname "$p")"; then
    dirname "$p"
    return 0
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4nr); do
    has_bins "$dir" && { echo "$dir"; return 0; }
  done
  return 1
}

if dir="$(find_bindir)"; then
  echo "PostgreSQL: $("$dir/postgres" --version) in $dir"
  exit 0
fi
if [[ -n "${ORBIT_PG_BINDIR:-}" ]]; then
  echo "error: ORBIT_PG_BINDIR=$ORBIT_PG_BINDIR does not contain initdb, pg_ctl and postgres" >&2
  exit 1
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries not found; installing $package with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package's own service is not wanted: the tests start their own clusters.
  apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  if dir="$(find_bindir)"; then
    echo "PostgreSQL: $("$dir/postgres" --version) in $dir"
    exit 0
  fi
fi

echo "error: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in \$ORBIT_PG_BINDIR, PATH or /usr/lib/postgresql/*/bin." >&2
echo "       Install them (Debian/Ubuntu: apt-get install $package), or point ORBIT_PG_BINDIR at their directory." >&2
exit 1
