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
  npx vitest run "$@"
' koe-test "$@"
