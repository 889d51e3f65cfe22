# Sourced by scripts/test.sh and scripts/bench.sh: starts a throwaway PostgreSQL cluster on a
# free loopback port, removed on exit. Needs PG_BIN (the postgresql bin directory) set; extra
# server settings in PG_EXTRA_OPTS. Sets PGPORT and PG_URL.
PGDIR=$(mktemp -d /tmp/koe-pg.XXXXXX)
PGPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; as_pg=(runuser -u postgres --); fi
pg_throwaway_cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap pg_throwaway_cleanup EXIT
"${as_pg[@]}" "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
  || { cat "$PGDIR/initdb.log"; exit 1; }
# Durability off: a test/benchmark database that is thrown away.
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off ${PG_EXTRA_OPTS:-}" start >/dev/null \
  || { cat "$PGDIR/pg.log"; exit 1; }
PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
