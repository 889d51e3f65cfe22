// The queue statistics on the lead's board (server/supervision/queue-stats.ts), pushed to every
// board socket: a snapshot when the board is subscribed, then every REFRESH_MS when the figures
// changed. A bounded cadence rather than the board's per-change fan-out: the figures change
// with every call of the org (and "longest wait" with every second), while a lead needs them
// fresh within seconds, so each instance computes them ONCE per org per period for all its
// sockets, whatever the number of calls or leads. Each socket gets only what its principal may
// see: campaigns in its campaign scope (server/crm/scope.ts), operators it may see on the board
// (Board.visibleOperators), asked per distinct principal scope per period.
import { sql } from 'kysely';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import { campaignScope, scopedCampaignIds } from '../crm/scope';
import type { Db } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import type { QueueStats } from '../../shared/gateway/queue-stats';
import { queueStats } from './queue-stats';

export const REFRESH_MS = 5_000;

interface Sub {
  current: () => Principal | null;
  send: (m: Record<string, unknown>) => void;
  last: string | null;
}

export class BoardStatsFeed {
  private readonly subs = new Set<Sub>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly visibleOperators: (p: Principal) => Promise<{ id: string }[]>,
  ) {}

  async subscribe(current: () => Principal | null, send: (m: Record<string, unknown>) => void): Promise<() => void> {
    const sub: Sub = { current, send, last: null };
    this.subs.add(sub);
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
      this.timer.unref?.();
    }
    await this.push([sub]).catch((err: unknown) => reportBackgroundFailure('board statistics: the first snapshot', err));
    return () => {
      this.subs.delete(sub);
      if (this.subs.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** One period: every socket's figures (tests call it instead of waiting for the timer). */
  refresh(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.push([...this.subs])
      .catch((err: unknown) => reportBackgroundFailure('board statistics: a refresh', err))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async push(subs: Sub[]): Promise<void> {
    const now = this.clock.now();
    const byOrg = new Map<string, Promise<QueueStats>>();
    const campaignsOf = new Map<string, Promise<Set<string>>>();
    const operatorsOf = new Map<string, Promise<Set<string>>>();
    for (const sub of subs) {
      const p = sub.current();
      if (!p) continue;
      if (!byOrg.has(p.orgId)) byOrg.set(p.orgId, queueStats(this.db, p.orgId, now));
      const scope = campaignScope(p);
      const scopeKey = JSON.stringify(scope);
      if (!campaignsOf.has(scopeKey)) {
        campaignsOf.set(scopeKey, this.db.selectFrom('campaigns').select('id').where('org_id', '=', p.orgId).where(sql<boolean>`id in (${scopedCampaignIds(scope)})`).execute().then((r) => new Set(r.map((x) => x.id))));
      }
      const opsKey = `${p.userId}|${[...p.permissions].sort().join(',')}|${[...p.teamIds].sort().join(',')}`;
      if (!operatorsOf.has(opsKey)) operatorsOf.set(opsKey, this.visibleOperators(p).then((r) => new Set(r.map((x) => x.id))));
      try {
        const [all, campaigns, operators] = await Promise.all([byOrg.get(p.orgId)!, campaignsOf.get(scopeKey)!, operatorsOf.get(opsKey)!]);
        const mine: QueueStats = { at: all.at, campaigns: all.campaigns.filter((c) => campaigns.has(c.campaignId)), operators: all.operators.filter((o) => operators.has(o.userId)) };
        const text = JSON.stringify({ c: mine.campaigns, o: mine.operators, w: mine.campaigns.map((c) => c.oldestWaitingSince) });
        if (text === sub.last || sub.current() !== p || !this.subs.has(sub)) continue;
        sub.last = text;
        sub.send({ type: 'boardStats', stats: mine });
      } catch (err) {
        reportBackgroundFailure('board statistics: one socket', err);
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subs.clear();
  }
}
