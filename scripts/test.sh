#!/usr/bin/env bash
# The README's test command (`npm test`): type-check, build, then every vitest project
# against real parts: a throwaway PostgreSQL cluster on loopback and a private
# Secret Service (gnome-keyring inside its own D-Bus session, temporary HOME).
# Missing system packages fail the run and are named; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)"); }
need chromium chromium
need dbus-run-session dbus
need gnome-keyring-daemon gnome-keyring
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || missing+=("initdb (Debian package: postgresql)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'npm test: missing system packages:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  printf 'Install them (see README, "Requirements") or run: bash .ci/run\n' >&2
  exit 1
fi

npm run --silent typecheck
npm run --silent build >/tmp/koe-build.log 2>&1 || { cat /tmp/koe-build.log; exit 1; }

# Throwaway PostgreSQL on a free loopback port, removed on exit.
source scripts/pg-throwaway.sh
export KOE_TEST_DATABASE_URL="$PG_URL"

# Private Secret Service for keytar: own D-Bus session, own HOME, unlocked keyring.
export KOE_TEST_HOME=$(mktemp -d /tmp/koe-home.XXXXXX)
dbus-run-session -- bash -c '
  set -euo pipefail
  export HOME="$KOE_TEST_HOME" XDG_DATA_HOME="$KOE_TEST_HOME/.local/share" XDG_RUNTIME_DIR="$KOE_TEST_HOME/run"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  eval "$(printf "koe-test\n" | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL
  # Two lanes at once, one core each (vitest alone runs one file at a time on two cores):
  # the stack lane, the e2e project (everything that starts Kamailio, rtpengine, baresip or
  # Chromium, a file at a time, so two stacks never share the machine), and the rest (unit,
  # component, integration). The stack lane prints when it is done; then both summaries.
  lane=$(mktemp /tmp/koe-stack-lane.XXXXXX)
  rest=$(mktemp /tmp/koe-rest-lane.XXXXXX)
  npx vitest run --project e2e --passWithNoTests "$@" >"$lane" 2>&1 &
  stack_pid=$!
  rest_rc=0
  npx vitest run --project unit --project component --project integration --passWithNoTests "$@" 2>&1 | tee "$rest" || rest_rc=$?
  stack_rc=0
  wait "$stack_pid" || stack_rc=$?
  printf "\n===== the stack lane (project e2e: the e2e tests and tests/integration/telephony) =====\n"
  cat "$lane"
  count() { grep -Eo "^[0-9]+ passed, [0-9]+ failed" "$1" | tail -n 1 | grep -Eo "[0-9]+" | sed -n "$2p"; }
  passed=$(( $(count "$rest" 1 || echo 0) + $(count "$lane" 1 || echo 0) ))
  failed=$(( $(count "$rest" 2 || echo 0) + $(count "$lane" 2 || echo 0) ))
  rm -f "$lane" "$rest"
  printf "\nall lanes: %s passed, %s failed\n" "$passed" "$failed"
  if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then echo "npm test: no test matched" >&2; exit 1; fi
  [ "$rest_rc" -eq 0 ] && [ "$stack_rc" -eq 0 ]
' koe-test "$@"
