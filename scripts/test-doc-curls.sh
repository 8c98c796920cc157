#!/usr/bin/env bash
# Runs the shell examples the documentation marks with `<!-- doc-test -->` (the
# README and the guide "Runs and commit statuses") against a real orbit-server and
# Bitbucket sandbox on loopback: the examples' 127.0.0.1:8700 and :8790 are
# rewritten to the ports actually used. Each file's marked blocks run in order in
# one bash (set -euo pipefail, so a failing curl --fail-with-body fails the script),
# after a stack bound to acme/infra main and its webhook were set up. Needs curl and
# jq (installed with apt-get when missing and running as root). Unattended; cleans up.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

for tool in curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
    else
      echo "error: $tool is needed (apt-get install $tool)" >&2
      exit 1
    fi
  fi
done

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/orbit-doc-curls.XXXXXX")"
pids=()
cleanup() {
  local status=$? pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if (( status != 0 )); then
    for log in "$work_dir"/*.log; do
      [[ -s "$log" ]] && { echo "---- $log ----" >&2; tail -n 20 "$log" >&2; }
    done
    echo "doc curls FAILED (exit $status)" >&2
  fi
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT

go build -o "$work_dir/orbit-server" ./cmd/orbit-server
go build -o "$work_dir/bitbucket-sandbox" ./cmd/bitbucket-sandbox

# start NAME URL-PATH CMD...: starts CMD on a free loopback port (the literal PORT in
# CMD), waits for URL-PATH to answer 200, and prints the base URL.
start() {
  local name="$1" path="$2" port attempt
  shift 2
  for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 40000))
    "${@//PORT/$port}" </dev/null >"$work_dir/$name.out" 2>"$work_dir/$name.log" &
    pids+=($!)
    for _ in $(seq 1 240); do
      kill -0 "${pids[-1]}" 2>/dev/null || break
      if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port$path")" == 200 ]]; then
        echo "http://127.0.0.1:$port"
        return 0
      fi
      sleep 0.25
    done
    echo "$name did not start on port $port (attempt $attempt)" >&2
  done
  return 1
}

sandbox_url="$(start sandbox /_sandbox/hooks "$work_dir/bitbucket-sandbox" --listen 127.0.0.1:PORT --seed)"
admin_key="orbit_k_docs$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
export ORBIT_BOOTSTRAP_KEY="$admin_key"
orbit_url="$(start server /readyz "$work_dir/orbit-server" --listen 127.0.0.1:PORT --db "$work_dir/orbit.db" \
  --shutdown-delay 0 --bitbucket-cloud-api-url "$sandbox_url")"
unset ORBIT_BOOTSTRAP_KEY

api() {
  local method="$1" path="$2"
  shift 2
  curl --fail-with-body -sS -X "$method" -H "Authorization: Bearer $admin_key" -H "Content-Type: application/json" \
    "$orbit_url$path" "$@"
}

# What the examples assume: a Cloud integration whose webhook is on acme/infra, and a
# stack bound to its main branch.
integration="$(api POST /api/v1/integrations -d '{"provider":"bitbucket_cloud","name":"docs","space_id":"root",
  "email":"dev@example.com","api_token":"sandbox-cloud-admin-token"}')"
integration_id="$(jq -r .id <<<"$integration")"
jq '{url: .webhook_url, secret: .webhook_secret, description: "orbit", active: true,
     events: ["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled"]}' <<<"$integration" |
  curl --fail-with-body -sS -u dev@example.com:sandbox-cloud-admin-token -H "Content-Type: application/json" \
    -d @- "$sandbox_url/2.0/repositories/acme/infra/hooks" >/dev/null
stack_id="$(api POST /api/v1/stacks -d '{"name":"docs","space_id":"root"}' | jq -r .id)"
api POST "/api/v1/stacks/$stack_id/vcs-binding" \
  -d "{\"integration_id\":\"$integration_id\",\"namespace\":\"acme\",\"repository\":\"infra\",\"branch\":\"main\"}" >/dev/null

# blocks FILE: the sh blocks of FILE that follow a <!-- doc-test --> line.
blocks() {
  awk '/^<!-- doc-test -->$/ { armed = 1; next }
       armed && /^```sh$/ { inside = 1; armed = 0; next }
       inside && /^```$/ { inside = 0; print ""; next }
       inside { print }
       { armed = armed && /^$/ }' "$1" |
    sed -e "s#http://127.0.0.1:8700#$orbit_url#g" -e "s#http://127.0.0.1:8790#$sandbox_url#g"
}

# run_doc FILE [SETUP]: runs FILE's blocks (after SETUP) in one bash, bounded in time.
run_doc() {
  local file="$1" setup="${2:-}" script
  script="$(blocks "$file")"
  if [[ -z "$script" ]]; then
    echo "error: $file has no <!-- doc-test --> block" >&2
    return 1
  fi
  echo "==> $file: $(grep -c '^<!-- doc-test -->$' "$file") block(s)"
  ORBIT_API_KEY="$admin_key" INTEGRATION_ID="$integration_id" \
    timeout 120 bash -euo pipefail -c "$setup"$'\n'"$script" >"$work_dir/doc.out" 2>&1 || {
      cat "$work_dir/doc.out" >&2
      return 1
    }
  sed 's/^/    /' "$work_dir/doc.out"
}

run_doc README.md

# The guide's runner examples start from a commit pushed to main: push it first,
# then wait for its run, as a runner started by that push would.
guide=templates/guides/runs-and-commit-statuses.md.tmpl
commit="$(sed -n 's/^COMMIT=\([0-9a-f]*\)$/\1/p' "$guide" | head -n 1)"
curl --fail-with-body -sS -X POST "$sandbox_url/_sandbox/events" \
  -d '{"product":"cloud","workspace":"acme","repository":"infra","event":"repo:push","branch":"main","commits":[{"hash":"'"$commit"'","message":"change"}]}' >/dev/null
run_doc "$guide" "until curl -fsS -H \"Authorization: Bearer \$ORBIT_API_KEY\" '$orbit_url/api/v1/runs?commit=$commit' | jq -e '.items[0]' >/dev/null; do sleep 0.2; done"

# The result reported in the guide reached Bitbucket.
for _ in $(seq 1 240); do
  state="$(curl -fsS "$sandbox_url/_sandbox/statuses" | jq -r --arg c "$commit" '[.cloud[] | select(.commit == $c)][0].state // ""')"
  [[ "$state" == SUCCESSFUL ]] && break
  sleep 0.25
done
if [[ "$state" != SUCCESSFUL ]]; then
  echo "error: the guide's result did not reach the commit status (state: ${state:-none})" >&2
  exit 1
fi
# The guide's start and result are the run's history: started, then finished.
times="$(curl -fsS -H "Authorization: Bearer $admin_key" "$orbit_url/api/v1/runs?commit=$commit" |
  jq -r '.items[0] | [.state, (.started_at // "none"), (.finished_at // "none")] | @tsv')"
if [[ "$times" != finished$'\t'20*$'\t'20* ]]; then
  echo "error: the guide's run has no start and finish times (state, started_at, finished_at: $times)" >&2
  exit 1
fi
echo "doc curls: ok (the guide's result is the commit status: $state; the run's states: $times)"
