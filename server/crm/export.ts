// Export: customers, calls and notes in pages in (updated_at, id) order. Pass nextCursor back
// until hasMore is false; call again later with the last cursor to get what changed since.
// Each page is audited.
import type { FastifyInstance } from 'fastify';
import { sql, type ExpressionBuilder } from 'kysely';
import { appendAudit, eventBy } from '../audit/audit';
import type { GatewayContext } from '../context';
import { iso } from '../db/rows';
import { GatewayError } from '../errors';
import { route } from '../http';
import type { Principal } from '../auth/principal-type';
import { callsInScope, notesInScope } from './queries';
import { campaignScope, inScope, type CampaignScope } from './scope';
import { callView, customerViews, noteView } from './views';

interface After { at: Date; id: string }
interface PageQuery { cursor?: string | undefined; since?: string | undefined; limit: number }

function encodeCursor(updatedAt: Date, id: string): string {
  return Buffer.from(`${iso(updatedAt)}|${id}`).toString('base64url');
}
/** Exactly what encodeCursor writes: an ISO instant (year 0001 or later) and a UUID. */
const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
function decodeCursor(cursor: string): After {
  // Anything else (garbage, a forged id that is not a UUID, a date PostgreSQL cannot hold)
  // is the client's fault: 400, never a database error.
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const date = m ? new Date(m[1]!) : null;
  if (!m || !date || Number.isNaN(date.getTime()) || date.toISOString() !== m[1] || m[1]!.startsWith('0000')) {
    throw new GatewayError('validation_failed', 'invalid cursor', { issues: [{ path: 'query.cursor', message: 'not a cursor from this API' }] });
  }
  return { at: date, id: m[2]!.toLowerCase() };
}

/** The page's rows (alias `t`): after the cursor, updated since `since`. */
const pageWhere = (after: After | null, since: Date | null) => (eb: ExpressionBuilder<any, any>) => {
  const conds = [];
  if (after) conds.push(sql<boolean>`(t.updated_at, t.id) > (${after.at}, ${after.id})`);
  if (since) conds.push(eb('t.updated_at', '>=', since));
  return conds.length ? eb.and(conds) : sql<boolean>`true`;
};

export function registerExportRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  const exportPage = <R extends { id: string; updated_at: Date }, V>(
    kind: 'customers' | 'calls' | 'notes',
    load: (scope: CampaignScope, where: ReturnType<typeof pageWhere>, limit: number) => Promise<R[]>,
    view: (rows: R[]) => Promise<V[]> | V[],
  ) =>
    async ({ principal, query }: { principal: Principal; query: PageQuery }) => {
      const after = query.cursor ? decodeCursor(query.cursor) : null;
      const rows = await load(campaignScope(principal), pageWhere(after, query.since ? new Date(query.since) : null), query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const nextCursor = last ? encodeCursor(last.updated_at, last.id) : (query.cursor ?? null);
      const detail = { rows: page.length, since: query.since ?? null, cursor: query.cursor ?? null };
      await db.transaction().execute((tx) => appendAudit(tx, clock, eventBy(principal, 'export.read', { type: 'export', id: kind }, detail)));
      return { items: await view(page), nextCursor, hasMore: rows.length > query.limit };
    };

  route(app, ctx, 'exportCustomers', exportPage(
    'customers',
    (scope, where, limit) => db.selectFrom('customers as t').selectAll('t').where(inScope(scope, 't')).where(where).orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => customerViews(db, rows),
  ));
  route(app, ctx, 'exportCalls', exportPage(
    'calls',
    (scope, where, limit) => callsInScope(db, scope).where(where).orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => rows.map(callView),
  ));
  route(app, ctx, 'exportNotes', exportPage(
    'notes',
    (scope, where, limit) => notesInScope(db, scope).where(where).orderBy('t.updated_at').orderBy('t.id').limit(limit).execute(),
    (rows) => rows.map(noteView),
  ));
}
