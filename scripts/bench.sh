#!/usr/bin/env bash
# `npm run bench`: every tests/bench/*.bench.ts module, on embedded PGlite and on a
# throwaway PostgreSQL cluster (loopback, removed on exit) when the Debian package
# `postgresql` is installed. Extra arguments go to tests/bench/run.ts (a module name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  # stock settings apart from a larger cache and no synchronous commit
  PG_EXTRA_OPTS="-c synchronous_commit=off -c shared_buffers=512MB -c maintenance_work_mem=256MB"
  source scripts/pg-throwaway.sh
  export KOE_BENCH_DATABASE_URL="$PG_URL"
  # its data directory: the bench reads the cluster's CPU time (tests/bench/gateway-process.ts)
  export KOE_BENCH_PGDATA="$PGDIR/data"
  echo "bench: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (throwaway)"
else
  echo "bench: no PostgreSQL (Debian package: postgresql); PGlite only"
fi
echo "bench: $(nproc) cores, $(node -p 'require("os").cpus()[0].model'), node $(node -v)"
npx tsx tests/bench/run.ts "$@"
