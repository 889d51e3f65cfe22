// Which gateway instance holds each operator connection the model counts (issue 14). The
// model's `connections` is the sum over instances of operator_connections.n: every
// `connected` step adds one to the stepping instance's row and every `disconnected` takes one
// from the owner's row, in the step's transaction (AgentRegistry.apply; there is no other way).
// Each instance heartbeats gateway_instances.seen_at (the database's clock, so the instances'
// clocks do not matter); an instance not seen for STALE_SECONDS is gone (SIGKILL, a failed
// box): any live instance feeds `disconnected` for each connection it held, so the grace
// starts and a client that reconnects elsewhere within it loses nothing. Two instances
// recovering the same one: each release takes one from the owner's row only while it is above
// zero (under the operator's row lock), so each connection is released once. A restarted
// instance never releases the connections another live instance holds.
import { sql, type Transaction } from 'kysely';
import type { Database, Db } from '../db/schema';
import { parseState } from './agent-state';
import { whoOf, type LoopHost } from './agent-loops';

export const STALE_SECONDS = 15;

/** In the step's transaction: the row of the connection (false: that owner holds none: the step must not count). */
export async function holdConnection(
  tx: Transaction<Database>,
  self: string,
  userId: string,
  type: 'connected' | 'disconnected',
  connectionOf: string | undefined,
  counted: number,
): Promise<boolean> {
  if (type === 'connected') {
    await tx
      .insertInto('operator_connections')
      .values({ instance: self, user_id: userId, n: 1 })
      .onConflict((oc) => oc.columns(['instance', 'user_id']).doUpdateSet({ n: sql<number>`operator_connections.n + 1` }))
      .execute();
    return true;
  }
  if (connectionOf === 'orphan') {
    // a connection no instance owns: only while the model counts more than the owners hold
    const owned = await tx.selectFrom('operator_connections').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('n'), sql<number>`0`).as('n')).where('user_id', '=', userId).executeTakeFirst();
    return counted > Number(owned?.n ?? 0);
  }
  const owner = connectionOf ?? self;
  const row = await tx
    .updateTable('operator_connections')
    .set({ n: sql<number>`n - 1` })
    .where('instance', '=', owner)
    .where('user_id', '=', userId)
    .where('n', '>', 0)
    .returning('n')
    .executeTakeFirst();
  if (!row) return false;
  if (Number(row.n) === 0) await tx.deleteFrom('operator_connections').where('instance', '=', owner).where('user_id', '=', userId).where('n', '=', 0).execute();
  return true;
}

export async function heartbeat(db: Db, id: string): Promise<void> {
  await sql`insert into gateway_instances (id, started_at, seen_at) values (${id}, now(), now())
    on conflict (id) do update set seen_at = now()`.execute(db);
}

/** `disconnected` for every connection an instance not seen for `staleSeconds` held; returns the operators released. */
export async function recoverGone(h: LoopHost, staleSeconds = STALE_SECONDS): Promise<number> {
  const rows = await sql<{ instance: string; user_id: string; org_id: string; username: string; n: number }>`
    select c.instance, c.user_id, u.org_id, u.username, c.n from operator_connections c join users u on u.id = c.user_id
    where c.n > 0 and not exists (
      select 1 from gateway_instances g where g.id = c.instance and g.seen_at > now() - make_interval(secs => ${staleSeconds}))`.execute(h.db);
  let released = 0;
  for (const r of rows.rows) {
    let any = false;
    for (let n = Number(r.n); n > 0; n--) {
      const out = await h.apply(whoOf(r), { type: 'disconnected' }, { connectionOf: r.instance });
      if (out.kind !== 'accepted') break; // another instance released it first
      any = true;
    }
    if (any) released++;
  }
  await sql`delete from gateway_instances where seen_at < now() - make_interval(secs => ${staleSeconds})
    and not exists (select 1 from operator_connections c where c.instance = gateway_instances.id)`.execute(h.db);
  return released;
}

/** Connections counted before connections had owners (an older gateway's database): released once. */
export async function recoverOrphans(h: LoopHost): Promise<number> {
  const rows = await h.db
    .selectFrom('operator_states as o')
    .innerJoin('users as u', 'u.id', 'o.user_id')
    .select(['o.user_id', 'o.org_id', 'o.state', 'u.username'])
    .where(sql<boolean>`(o.state->>'connections')::int > coalesce((select sum(c.n) from operator_connections c where c.user_id = o.user_id), 0)`)
    .execute();
  for (const r of rows) {
    for (let n = parseState(r.state).connections; n > 0; n--) {
      const out = await h.apply(whoOf(r), { type: 'disconnected' }, { connectionOf: 'orphan' });
      if (out.kind !== 'accepted') break;
    }
  }
  return rows.length;
}
