#!/usr/bin/env bash
# `npm run bench`: every tests/bench/*.bench.ts module, on embedded PGlite and on a
# throwaway PostgreSQL cluster (loopback, removed on exit) when the Debian package
# `postgresql` is installed. Extra arguments go to tests/bench/run.ts (a module name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; then
  PGDIR=$(mktemp -d /tmp/koe-bench-pg.XXXXXX)
  PGPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; as_pg=(runuser -u postgres --); fi
  cleanup() {
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
  }
  trap cleanup EXIT
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log"; exit 1; }
  # durability off (a benchmark database), otherwise stock settings apart from a larger cache
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c shared_buffers=512MB -c maintenance_work_mem=256MB" start >/dev/null \
    || { cat "$PGDIR/pg.log"; exit 1; }
  export KOE_BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
  echo "bench: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (throwaway)"
else
  echo "bench: no PostgreSQL (Debian package: postgresql); PGlite only"
fi
echo "bench: $(nproc) cores, $(node -p 'require("os").cpus()[0].model'), node $(node -v)"
npx tsx tests/bench/run.ts "$@"
