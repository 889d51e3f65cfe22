// Retention of calls, notes and customers, the right to deletion, and recordings left
// `recording` by a crashed instance (server/recordings/data-retention.ts, recover.ts), on the
// real gateway database (PGlite and PostgreSQL): what is due goes (with a receipt in the audit
// chain that holds no customer data), what is on legal hold stays, two instances purging or
// recovering at once each do a row once, a customer on hold is refused with nothing deleted.
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interleave, WAV_HEADER_BYTES } from '../../../server/recordings/audio';
import { RecordingsService } from '../../../server/recordings/service';
import { BACKENDS, setup, type Harness } from './harness';

const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [] };
const KEK = { id: 'kek-r', key: randomBytes(32).toString('base64') };
const DAY = 86_400_000;
const NAME = '削除 太郎';
const PHONE = '+819077776666';
const NOTE_TEXT = '折り返し希望 秘密のメモ';

function pcm(seconds: number): Buffer {
  const n = Math.round(8000 * seconds);
  const l = new Int16Array(n);
  const r = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = ((i * 7) % 30000) - 15000;
    r[i] = ((i * 13) % 30000) - 15000;
  }
  return interleave(l, r);
}

describe.each(BACKENDS)('retention of calls, notes, customers; right to deletion; crashed recordings on %s', (backend) => {
  let h: Harness;
  const dir = mkdtempSync(join(tmpdir(), `koe-ret-${backend}-`));
  let admin: string;
  let lead: string;
  let campaignId: string;

  async function customer(name = NAME, phone = PHONE): Promise<string> {
    return (await h.ok('POST', '/customers', admin, { campaignId, nameKanji: name, nameKana: 'サクジョ タロウ', phones: [phone] })).id;
  }
  /** An ended call of the operator, linked to `customerId`, optionally recorded (seconds of audio). */
  async function call(customerId: string | null, seconds = 0): Promise<{ id: string; sip: string; recordingId: string | null }> {
    const id = randomUUID();
    const sip = `${id}@pbx`;
    const now = h.clock.now();
    await h.db.insertInto('calls').values({
      id, org_id: h.orgId, sip_call_id: sip, operator_id: h.users.operator.id, campaign_id: campaignId, customer_id: customerId, caller_e164: PHONE, dialled_e164: '+81311110009',
      status: 'ended', ringing_at: now, answered_at: now, ended_at: now, created_at: now, updated_at: now,
    } as never).execute();
    let recordingId: string | null = null;
    if (seconds) {
      const active = await h.gw.ctx.recordings.begin({ id, org_id: h.orgId, sip_call_id: sip, campaign_id: campaignId, operator_id: h.users.operator.id });
      active.push(pcm(seconds));
      await h.gw.ctx.recordings.finish(active);
      recordingId = active.id;
    }
    return { id, sip, recordingId };
  }
  async function note(customerId: string | null, callId: string | null): Promise<string> {
    const id = randomUUID();
    const now = h.clock.now();
    await h.db.insertInto('notes').values({ id, org_id: h.orgId, campaign_id: campaignId, customer_id: customerId, call_id: callId, author_id: h.users.operator.id, client_note_id: randomUUID(), body: NOTE_TEXT, open: true, created_at: now, updated_at: now }).execute();
    return id;
  }
  const exists = async (table: 'calls' | 'notes' | 'customers', id: string) => (await h.db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  /** Every receipt of deletion so far must hold no customer data. */
  async function receiptsClean(): Promise<string[]> {
    const rows = await h.db.selectFrom('audit_log').select(['action', 'detail']).where('action', 'in', ['call.deleted', 'note.deleted', 'customer.deleted', 'recording.deleted']).execute();
    const text = JSON.stringify(rows);
    for (const secret of [NAME, PHONE, '7777', NOTE_TEXT, 'サクジョ']) expect(text, secret).not.toContain(secret);
    return rows.map((r) => r.action);
  }

  beforeAll(async () => {
    h = await setup(backend, { recordings: { dir, keks: [KEK] } });
    // the gateway's own sweep timer stays out of it: each purge and recovery below is called, and counted, by the test
    await h.gw.ctx.recordings.close();
    admin = await h.token(h.users.admin);
    lead = await h.token(h.users.lead);
    campaignId = (await h.ok('POST', '/campaigns', admin, { name: '保存期間', dids: ['03-1111-0009'], hours: HOURS, dispositions: ['解決'] })).id;
    await h.ok('PUT', `/campaigns/${campaignId}/recording`, admin, { mode: 'all', retentionDays: null });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retention settings: admin only, validated, audited', async () => {
    expect((await h.req('PUT', `/campaigns/${campaignId}/retention`, { token: lead, body: { calls: 10, notes: 20, customers: 30 } })).status).toBe(403);
    for (const body of [{ calls: 0, notes: 20, customers: 30 }, { calls: 10, notes: 20 }, { calls: 1.5, notes: null, customers: null }, { calls: 10, notes: 20, customers: 30, extra: 1 }]) {
      expect((await h.req('PUT', `/campaigns/${campaignId}/retention`, { token: admin, body })).status, JSON.stringify(body)).toBe(400);
    }
    expect((await h.req('PUT', `/campaigns/${randomUUID()}/retention`, { token: admin, body: { calls: 1, notes: 1, customers: 1 } })).status).toBe(404);
    expect(await h.ok('PUT', `/campaigns/${campaignId}/retention`, admin, { calls: 10, notes: 20, customers: 30 })).toEqual({ campaignId, calls: 10, notes: 20, customers: 30 });
    expect(await h.auditActions({ action: 'campaign.retention_settings' })).toHaveLength(1);
  });

  it('the purge deletes calls, notes and customers as they fall due, keeps what is on hold, each row once across two instances', async () => {
    const cust1 = await customer();
    const c1 = await call(cust1, 2);
    const n1 = await note(cust1, c1.id);
    const cust2 = await customer('保留 花子', '+819055554444');
    const c2 = await call(cust2);
    const n2 = await note(cust2, null);
    const c3 = await call(null);
    const n3 = await note(null, c3.id);
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'customer', id: cust2, hold: true });
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: c3.id, hold: true });
    const other = new RecordingsService(h.db, h.clock, h.gw.ctx.config, 'other-secret', randomUUID());
    const both = async () => {
      const [a, b] = await Promise.all([h.gw.ctx.recordings.purgeDueData(), other.purgeDueData()]);
      return { calls: a.calls + b.calls, notes: a.notes + b.notes, customers: a.customers + b.customers };
    };
    h.clock.advance(9 * DAY);
    expect(await both()).toEqual({ calls: 0, notes: 0, customers: 0 });
    h.clock.advance(2 * DAY); // day 11: calls due
    expect(await both()).toEqual({ calls: 1, notes: 0, customers: 0 });
    expect(await exists('calls', c1.id)).toBe(false);
    expect(await exists('calls', c2.id)).toBe(true); // its customer is held
    expect(await exists('calls', c3.id)).toBe(true); // held
    const rec = await h.db.selectFrom('recordings').selectAll().where('id', '=', c1.recordingId!).executeTakeFirstOrThrow();
    expect(rec).toMatchObject({ status: 'purged', wrapped_key: null, call_id: null, purge_reason: 'retention' });
    await h.gw.ctx.recordings.removeFiles();
    expect(existsSync(join(dir, rec.file_name))).toBe(false);
    expect((await h.db.selectFrom('notes').select('call_id').where('id', '=', n1).executeTakeFirstOrThrow()).call_id).toBeNull();
    h.clock.advance(10 * DAY); // day 21: notes due
    expect(await both()).toEqual({ calls: 0, notes: 1, customers: 0 });
    expect([await exists('notes', n1), await exists('notes', n2), await exists('notes', n3)]).toEqual([false, true, true]);
    h.clock.advance(10 * DAY); // day 31: customers due
    expect(await both()).toEqual({ calls: 0, notes: 0, customers: 1 });
    expect(await exists('customers', cust1)).toBe(false);
    expect(await h.db.selectFrom('customer_phones').select('e164').where('customer_id', '=', cust1).execute()).toEqual([]);
    expect(await exists('customers', cust2)).toBe(true);
    // lifting the holds lets them go
    admin = await h.token(h.users.admin);
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'customer', id: cust2, hold: false });
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: c3.id, hold: false });
    const after = await both();
    expect(after.customers).toBe(1);
    expect(await exists('customers', cust2)).toBe(false);
    expect(await exists('calls', c3.id)).toBe(false);
    expect(await exists('notes', n3)).toBe(false);
    const actions = await receiptsClean();
    expect(actions.filter((a) => a === 'call.deleted').length).toBeGreaterThanOrEqual(2);
    expect(actions).toContain('note.deleted');
    expect(actions.filter((a) => a === 'customer.deleted')).toHaveLength(2);
    const receipt = await h.db.selectFrom('audit_log').select(['detail', 'actor_user_id']).where('action', '=', 'call.deleted').where('target_id', '=', c1.id).executeTakeFirstOrThrow();
    expect(receipt.actor_user_id).toBeNull();
    expect(receipt.detail).toMatchObject({ reason: 'retention', retentionDays: 10, callId: c1.sip, recordings: [{ id: c1.recordingId, sha256: rec.sha256 }] });
    // the audit chain still verifies with the receipts in it
    await h.ok('PUT', `/campaigns/${campaignId}/retention`, admin, { calls: null, notes: null, customers: null });
  });

  it('right to deletion: refused on hold (nothing deleted), then everything of the customer goes with one receipt', async () => {
    admin = await h.token(h.users.admin);
    lead = await h.token(h.users.lead);
    const cust = await customer();
    const c = await call(cust, 1);
    const n = await note(cust, c.id);
    const body = { reason: '本人からの削除請求 (APPI)' };
    expect((await h.req('POST', `/customers/${cust}/erase`, { token: lead, body })).status).toBe(403);
    expect((await h.req('POST', `/customers/${cust}/erase`, { token: admin, body: { reason: ' ' } })).status).toBe(400);
    expect((await h.req('POST', `/customers/${randomUUID()}/erase`, { token: admin, body })).status).toBe(404);
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: c.id, hold: true });
    const held = await h.req('POST', `/customers/${cust}/erase`, { token: admin, body });
    expect(held.status).toBe(409);
    expect(held.text).toContain('legal hold');
    expect([await exists('customers', cust), await exists('notes', n), await exists('calls', c.id)]).toEqual([true, true, true]);
    expect((await h.db.selectFrom('recordings').select('status').where('id', '=', c.recordingId!).executeTakeFirstOrThrow()).status).toBe('complete');
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: c.id, hold: false });
    const out = await h.ok('POST', `/customers/${cust}/erase`, admin, body);
    expect(out).toMatchObject({ customerId: cust, notesDeleted: 1, callsUnlinked: 1, recordingsDestroyed: 1 });
    expect((await h.req('GET', `/customers/${cust}`, { token: admin })).status).toBe(404);
    expect(await exists('notes', n)).toBe(false);
    const row = await h.db.selectFrom('calls').select(['customer_id', 'caller_e164', 'dialled_e164']).where('id', '=', c.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ customer_id: null, caller_e164: null, dialled_e164: null });
    const rec = await h.db.selectFrom('recordings').selectAll().where('id', '=', c.recordingId!).executeTakeFirstOrThrow();
    expect(rec).toMatchObject({ status: 'purged', wrapped_key: null, file_deleted: true, purge_reason: 'request' });
    expect(existsSync(join(dir, rec.file_name))).toBe(false);
    const entry = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'customer.deleted').where('target_id', '=', cust).executeTakeFirstOrThrow();
    expect(entry.actor_user_id).toBe(h.users.admin.id);
    expect(entry.detail).toMatchObject({ reason: 'request', requestReason: body.reason, notesDeleted: 1, recordings: [{ id: c.recordingId, sha256: rec.sha256 }] });
    await receiptsClean();
    expect((await h.req('POST', `/customers/${cust}/erase`, { token: admin, body })).status).toBe(404);
  });

  it('a recording left `recording` by a gone instance is finalised once (two instances racing), what was written playable, marked incomplete', async () => {
    const c = await call(null);
    const active = await h.gw.ctx.recordings.begin({ id: c.id, org_id: h.orgId, sip_call_id: c.sip, campaign_id: campaignId, operator_id: h.users.operator.id });
    const data = pcm(2.5);
    active.push(data); // 2 whole chunks reach the disk; 0.5 s stays in the dead process's memory
    await active.writer.abandon(); // the crash: no final chunk, no index update
    const file = join(dir, (await h.db.selectFrom('recordings').select('file_name').where('id', '=', active.id).executeTakeFirstOrThrow()).file_name);
    appendFileSync(file, randomBytes(1000)); // a torn write at the end
    // a second recording, of a live instance (heartbeat now): left alone
    const live = await call(null);
    const liveRec = await h.gw.ctx.recordings.begin({ id: live.id, org_id: h.orgId, sip_call_id: live.sip, campaign_id: campaignId, operator_id: h.users.operator.id });
    const liveInstance = randomUUID();
    await sql`insert into gateway_instances (id, started_at, seen_at) values (${liveInstance}, now(), now())`.execute(h.db);
    const gone = randomUUID();
    await h.db.updateTable('recordings').set({ instance: gone }).where('id', '=', active.id).execute();
    await h.db.updateTable('recordings').set({ instance: liveInstance }).where('id', '=', liveRec.id).execute();
    const a = new RecordingsService(h.db, h.clock, h.gw.ctx.config, 'sa', randomUUID());
    const b = new RecordingsService(h.db, h.clock, h.gw.ctx.config, 'sb', randomUUID());
    const [na, nb] = await Promise.all([a.recoverCrashed(), b.recoverCrashed()]);
    expect(na + nb).toBe(1);
    const row = await h.db.selectFrom('recordings').selectAll().where('id', '=', active.id).executeTakeFirstOrThrow();
    const bytes = readFileSync(file);
    expect(row).toMatchObject({ status: 'incomplete', duration_ms: 2000 });
    expect(Number(row.plain_bytes)).toBe(64_000);
    expect(Number(row.size_bytes)).toBe(bytes.length);
    expect(row.sha256).toBe((await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'));
    expect((await h.db.selectFrom('recordings').select('status').where('id', '=', liveRec.id).executeTakeFirstOrThrow()).status).toBe('recording');
    expect(await h.auditActions({ action: 'recording.recovered' })).toHaveLength(1);
    // playable: the two seconds written, exactly
    const grant = await h.ok('POST', `/recordings/${active.id}/play`, admin);
    const res = await h.gw.app.inject({ method: 'GET', url: grant.streamPath, headers: { authorization: `Bearer ${admin}`, range: `bytes=${WAV_HEADER_BYTES}-${WAV_HEADER_BYTES + 63_999}` } });
    expect(res.statusCode).toBe(206);
    expect(res.rawPayload.equals(data.subarray(0, 64_000))).toBe(true);
    // a second pass finds nothing; the live one is sealed normally
    expect(await a.recoverCrashed()).toBe(0);
    await h.gw.ctx.recordings.finish(liveRec);
    // a crash before any chunk reached the disk: an empty, sealed, playable recording
    const c2 = await call(null);
    const empty = await h.gw.ctx.recordings.begin({ id: c2.id, org_id: h.orgId, sip_call_id: c2.sip, campaign_id: campaignId, operator_id: h.users.operator.id });
    empty.push(pcm(0.2));
    await empty.writer.abandon();
    await h.db.updateTable('recordings').set({ instance: null }).where('id', '=', empty.id).execute();
    expect(await a.recoverCrashed()).toBe(1);
    expect(await h.db.selectFrom('recordings').select(['status', 'plain_bytes', 'duration_ms']).where('id', '=', empty.id).executeTakeFirstOrThrow()).toMatchObject({ status: 'incomplete', duration_ms: 0 });
    expect((await h.req('POST', `/recordings/${empty.id}/play`, { token: admin })).status).toBe(200);
  });
});
