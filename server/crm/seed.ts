// Demo CRM data for `seed --demo`: three campaigns with DIDs, Tokyo business hours and
// dispositions, assignments (operator A and operator B in different campaigns, for the
// e2e tests), customers with kanji and kana names and Japanese numbers, and a past call with
// an open note so the screen pop has something to show. Idempotent (by campaign name).
import { randomUUID } from 'node:crypto';
import { nameKey } from '../../shared/rules/names';
import { toE164 } from '../../shared/rules/phone';
import type { GatewayContext } from '../context';
import { toJsonColumn } from '../db/json-column';

const JP_HOLIDAYS = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-12', '2026-02-11', '2026-02-23', '2026-03-20', '2026-04-29',
  '2026-05-04', '2026-05-05', '2026-05-06', '2026-07-20', '2026-08-11', '2026-09-21', '2026-09-22', '2026-09-23', '2026-10-12',
  '2026-11-03', '2026-11-23', '2026-12-31', '2027-01-01', '2027-01-02', '2027-01-03'];
const weekdays = (open: string, close: string) =>
  Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ open, close }]]));

export const DEMO_CAMPAIGNS = [
  {
    key: 'A', name: 'さくら銀行 カード窓口', dids: ['+81 3-4500-1001', '0120-100-201'],
    weekly: { ...weekdays('09:00', '18:00'), sat: [{ open: '09:00', close: '12:00' }] }, closedDates: JP_HOLIDAYS,
    dispositions: ['解決', '折り返し', 'エスカレーション', 'カード利用停止'], assigned: ['sato.hanako'],
  },
  {
    key: 'B', name: 'ひかり通販 注文受付', dids: ['+81 6-6300-2002', '0120-200-302'],
    weekly: Object.fromEntries(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d) => [d, [{ open: '09:00', close: '21:00' }]])), closedDates: ['2026-01-01'],
    dispositions: ['注文受付', '解決', '折り返し', '返品受付'], assigned: ['takahashi.ren', 'tanaka.aoi'],
  },
  {
    key: 'C', name: 'みどり電力 引越し受付', dids: ['+81 52-900-3003', '0120-300-403'],
    weekly: { ...weekdays('09:00', '17:00'), sat: [{ open: '10:00', close: '16:00' }] }, closedDates: JP_HOLIDAYS,
    dispositions: ['手続き完了', '解決', '折り返し', 'エスカレーション'], assigned: ['tanaka.aoi'],
  },
] as const;

const SURNAMES: [string, string][] = [['佐々木', 'ササキ'], ['山本', 'ヤマモト'], ['中村', 'ナカムラ'], ['小林', 'コバヤシ'], ['加藤', 'カトウ'],
  ['吉田', 'ヨシダ'], ['山田', 'ヤマダ'], ['松本', 'マツモト'], ['井上', 'イノウエ'], ['木村', 'キムラ'], ['林', 'ハヤシ'], ['清水', 'シミズ']];
const GIVEN: [string, string][] = [['一郎', 'イチロウ'], ['美咲', 'ミサキ'], ['大輔', 'ダイスケ'], ['陽子', 'ヨウコ'], ['翔太', 'ショウタ'],
  ['恵', 'メグミ'], ['健一', 'ケンイチ'], ['由美', 'ユミ'], ['拓也', 'タクヤ'], ['直子', 'ナオコ']];

export interface DemoCrm {
  campaigns: { name: string; dids: string[]; callers: string[] }[];
}

export async function seedDemoCrm(ctx: GatewayContext, orgId: string): Promise<DemoCrm> {
  const { db, clock } = ctx;
  const now = clock.now();
  const users = await db.selectFrom('users').select(['id', 'username']).where('org_id', '=', orgId).execute();
  const userId = (u: string) => users.find((x) => x.username === u)?.id;
  const out: DemoCrm = { campaigns: [] };
  for (const [ci, c] of DEMO_CAMPAIGNS.entries()) {
    const dids = c.dids.map((d) => toE164(d)!);
    const callers: string[] = [];
    for (let i = 0; i < 12; i++) callers.push(toE164(`090-${String(1000 + ci * 100 + i).padStart(4, '0')}-${String(5000 + i * 7).padStart(4, '0')}`)!);
    out.campaigns.push({ name: c.name, dids, callers: callers.slice(0, 3) });
    const existing = await db.selectFrom('campaigns').select('id').where('org_id', '=', orgId).where('name', '=', c.name).executeTakeFirst();
    if (existing) continue;
    await db.transaction().execute(async (tx) => {
      const id = randomUUID();
      await tx
        .insertInto('campaigns')
        .values({
          id, org_id: orgId, name: c.name, time_zone: 'Asia/Tokyo', weekly_hours: toJsonColumn(c.weekly), closed_dates: toJsonColumn(c.closedDates),
          dispositions: toJsonColumn(c.dispositions), blocked_numbers: toJsonColumn([toE164('090-0000-0666')]), created_at: now, updated_at: now,
        })
        .execute();
      await tx.insertInto('campaign_dids').values(dids.map((e164) => ({ org_id: orgId, e164, campaign_id: id }))).execute();
      const assigned = c.assigned.map(userId).filter((x): x is string => !!x);
      if (assigned.length) await tx.insertInto('campaign_assignments').values(assigned.map((user_id) => ({ user_id, campaign_id: id, org_id: orgId }))).execute();
      for (const [i, caller] of callers.entries()) {
        const [sk, sr] = SURNAMES[(i + ci * 5) % SURNAMES.length]!;
        const [gk, gr] = GIVEN[(i * 3 + ci) % GIVEN.length]!;
        const customerId = randomUUID();
        await tx
          .insertInto('customers')
          .values({
            id: customerId, org_id: orgId, campaign_id: id, name_kanji: `${sk} ${gk}`, name_kana: `${sr} ${gr}`,
            name_kanji_key: nameKey(`${sk} ${gk}`), name_kana_key: nameKey(`${sr} ${gr}`), email: i % 3 === 0 ? `customer${ci}${i}@example.jp` : null,
            fields: toJsonColumn({ 会員番号: `M-${ci + 1}${String(i + 1).padStart(5, '0')}`, 住所: `東京都千代田区丸の内${i + 1}-${ci + 1}` }), created_at: now, updated_at: now,
          })
          .execute();
        await tx.insertInto('customer_phones').values({ customer_id: customerId, e164: caller, campaign_id: id, org_id: orgId }).execute();
        if (i === 0 && assigned[0]) {
          const callRow = randomUUID();
          const earlier = new Date(now.getTime() - 3 * 86_400_000);
          await tx
            .insertInto('calls')
            .values({
              id: callRow, org_id: orgId, sip_call_id: `demo-${randomUUID()}@pbx.demo`, operator_id: assigned[0], campaign_id: id, customer_id: customerId,
              caller_e164: caller, dialled_e164: dids[0]!, blocked: false, status: 'ended', ringing_at: earlier, answered_at: new Date(earlier.getTime() + 8000),
              ended_at: new Date(earlier.getTime() + 240_000), disposition: c.dispositions[1], wrap_up_seconds: 60, created_at: earlier, updated_at: earlier,
            })
            .execute();
          await tx
            .insertInto('notes')
            .values({
              id: randomUUID(), org_id: orgId, campaign_id: id, customer_id: customerId, call_id: callRow, author_id: assigned[0], client_note_id: randomUUID(),
              body: '折り返し希望: 平日 18時以降。', open: true, created_at: earlier, updated_at: earlier,
            })
            .execute();
        }
      }
    });
  }
  return out;
}
