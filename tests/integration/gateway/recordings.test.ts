// Recordings on the real gateway database (PGlite and PostgreSQL): playback capabilities
// (expired, replayed by another user or session, for another recording, forged), scope (a lead
// of another team, an operator of another campaign and a nonexistent id get the same answer),
// HTTP Range over the encrypted file, a tampered chunk refused and audited, the retention
// purge against legal holds, deletion on request with its receipt.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interleave, wavHeader, WAV_HEADER_BYTES } from '../../../server/recordings/audio';
import { decryptFile, HEADER_BYTES, KeyRing, TAG_BYTES } from '../../../server/recordings/format';
import { RecordingsService } from '../../../server/recordings/service';
import { MAX_WINDOW } from '../../../server/recordings/playback';
import { BACKENDS, setup, type Harness, type TestUser } from './harness';

const HOURS = { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [] };
const KEK = { id: 'kek-2026', key: randomBytes(32).toString('base64') };

/** n seconds of stereo PCM, every sample position distinct so a misplaced byte shows. */
function pcm(seconds: number, seed: number): Buffer {
  const n = 8000 * seconds;
  const l = new Int16Array(n);
  const r = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = ((i * 7 + seed) % 30000) - 15000;
    r[i] = ((i * 13 + seed * 3) % 30000) - 15000;
  }
  return interleave(l, r);
}

describe.each(BACKENDS)('recordings on %s', (backend) => {
  let h: Harness;
  const dir = mkdtempSync(join(tmpdir(), `koe-rec-${backend}-`));
  let admin: string;
  let lead: string;
  let lead2: string;
  let opA: string;
  let opB: string;
  let opBUser: TestUser;
  let lead2User: TestUser;
  const ids = {} as Record<'A' | 'B' | 'custA' | 'rec1' | 'rec2' | 'rec3' | 'recB' | 'call1' | 'call2', string>;
  const audio = {} as Record<string, Buffer>;

  const inject = (url: string, token: string, headers: Record<string, string> = {}, ip = '10.0.0.1') =>
    h.gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, ...headers }, remoteAddress: ip });
  const play = async (id: string, token: string) => h.req('POST', `/recordings/${id}/play`, { token });
  const raw = async (res: { status: number; text: string }) => `${res.status} ${res.text}`;

  /** A recording of `call` (screen-popped by `token`) with `seconds` of audio, written through the service like the recorder does. */
  async function recordCall(token: string, operatorId: string, callId: string, seconds: number, seed: number): Promise<string> {
    await h.ok('POST', '/screen-pop', token, { callId, dialledNumber: callId.startsWith('b-') ? '0120-222-333' : '03-1111-0001', callerNumber: '090-1111-2222' });
    const call = await h.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).where('operator_id', '=', operatorId).executeTakeFirstOrThrow();
    const active = await h.gw.ctx.recordings.begin({ ...call, operator_id: operatorId });
    const data = pcm(seconds, seed);
    for (let off = 0; off < data.length; off += 640) active.push(data.subarray(off, off + 640));
    await h.gw.ctx.recordings.finish(active);
    audio[active.id] = Buffer.concat([wavHeader(data.length), data]);
    return active.id;
  }

  beforeAll(async () => {
    h = await setup(backend, { recordings: { dir, keks: [KEK] } });
    // operators may hear their own calls only where the org allows it: their role gets the permission, the policy decides
    await h.db.updateTable('roles').set({ permissions: JSON.stringify(['calls:handle', 'customers:read', 'customers:write', 'notes:write', 'recordings:play']) }).where('org_id', '=', h.orgId).where('key', '=', 'operator').execute();
    admin = await h.token(h.users.admin);
    opA = await h.token(h.users.operator);
    opBUser = await h.newUser('operator', 'opb');
    opB = await h.token(opBUser);
    lead = await h.token(h.users.lead);
    lead2User = await h.newUser('team_lead', 'lead2');
    lead2 = await h.token(lead2User);
    const teamA = await h.ok('POST', '/admin/teams', admin, { name: 'チームA' });
    await h.ok('PUT', `/admin/teams/${teamA.id}/members`, admin, { leadIds: [h.users.lead.id], operatorIds: [h.users.operator.id] });
    const teamB = await h.ok('POST', '/admin/teams', admin, { name: 'チームB' });
    await h.ok('PUT', `/admin/teams/${teamB.id}/members`, admin, { leadIds: [lead2User.id], operatorIds: [opBUser.id] });
    ids.A = (await h.ok('POST', '/campaigns', admin, { name: 'カード窓口', dids: ['03-1111-0001'], hours: HOURS, dispositions: ['解決'] })).id;
    ids.B = (await h.ok('POST', '/campaigns', admin, { name: '通販', dids: ['0120-222-333'], hours: HOURS, dispositions: ['解決'] })).id;
    await h.ok('PUT', `/campaigns/${ids.A}/assignments`, admin, { userIds: [h.users.operator.id] });
    await h.ok('PUT', `/campaigns/${ids.B}/assignments`, admin, { userIds: [opBUser.id] });
    ids.custA = (await h.ok('POST', '/customers', admin, { campaignId: ids.A, nameKanji: '鈴木 一郎', nameKana: 'スズキ イチロウ', phones: ['090-1111-2222'] })).id;
    await h.ok('PUT', `/campaigns/${ids.A}/recording`, admin, { mode: 'all', retentionDays: 30 });
    await h.ok('PUT', `/campaigns/${ids.B}/recording`, admin, { mode: 'all', retentionDays: null });
    // tokens are re-issued after the role change took effect
    ids.rec1 = await recordCall(opA, h.users.operator.id, 'a-call-1@pbx', 5, 1);
    ids.rec2 = await recordCall(opA, h.users.operator.id, 'a-call-2@pbx', 2, 2);
    ids.rec3 = await recordCall(opA, h.users.operator.id, 'a-call-3@pbx', 2, 3);
    ids.recB = await recordCall(opB, opBUser.id, 'b-call-1@pbx', 1, 4);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('indexes each recording with the call: size, duration, sha256 of the ciphertext, key id, channels', async () => {
    const r = await h.db.selectFrom('recordings').selectAll().where('id', '=', ids.rec1).executeTakeFirstOrThrow();
    const file = readFileSync(join(dir, r.file_name));
    expect(r).toMatchObject({ status: 'complete', kek_id: 'kek-2026', channels: 2, sample_rate: 8000, duration_ms: 5000, sip_call_id: 'a-call-1@pbx', campaign_id: ids.A });
    expect(Number(r.size_bytes)).toBe(file.length);
    expect(r.sha256).toBe((await import('node:crypto')).createHash('sha256').update(file).digest('hex'));
    expect(file.includes(Buffer.from('RIFF'))).toBe(false);
    const list = await h.ok('GET', `/recordings?callId=${encodeURIComponent('a-call-1@pbx')}`, lead);
    expect(list.recordings).toMatchObject([{ id: ids.rec1, durationMs: 5000, channels: { left: 'customer', right: 'operator' }, gaps: [], legalHold: false }]);
  });

  it('streams with Range: a middle range is exactly that part of the WAV, no-store, audio/wav; open ranges are windowed; bad ranges 416', async () => {
    const grant = await h.ok('POST', `/recordings/${ids.rec1}/play`, lead);
    const wav = audio[ids.rec1]!;
    expect(grant.wavBytes).toBe(wav.length);
    const mid = await inject(grant.streamPath, lead, { range: 'bytes=40000-50999' });
    expect(mid.statusCode).toBe(206);
    expect(mid.headers['content-range']).toBe(`bytes 40000-50999/${wav.length}`);
    expect(mid.headers['cache-control']).toBe('no-store');
    expect(mid.headers['content-type']).toBe('audio/wav');
    expect(mid.rawPayload.equals(wav.subarray(40000, 51000))).toBe(true);
    // the header and the first samples
    const head = await inject(grant.streamPath, lead, { range: 'bytes=0-99' });
    expect(head.rawPayload.equals(wav.subarray(0, 100))).toBe(true);
    expect(head.rawPayload.subarray(0, 4).toString()).toBe('RIFF');
    // suffix and open-ended: the latter at most one window
    const tail = await inject(grant.streamPath, lead, { range: 'bytes=-1000' });
    expect(tail.rawPayload.equals(wav.subarray(wav.length - 1000))).toBe(true);
    const open = await inject(grant.streamPath, lead, { range: 'bytes=100-' });
    expect(open.statusCode).toBe(206);
    expect(open.rawPayload.equals(wav.subarray(100, 100 + MAX_WINDOW))).toBe(true);
    // no Range: the whole WAV
    const whole = await inject(grant.streamPath, lead);
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(wav)).toBe(true);
    for (const range of [`bytes=${wav.length}-`, 'bytes=-0', 'bytes=9-3', 'bytes=x-y']) {
      const bad = await inject(grant.streamPath, lead, { range });
      expect(bad.statusCode, range).toBe(416);
      expect(bad.headers['content-range'], range).toBe(`bytes */${wav.length}`);
      expect(bad.headers['content-type'], range).toMatch(/json/);
    }
    // every playback is audited (who, which call, from where) and counted
    const entry = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'recording.played').where('target_id', '=', ids.rec1).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ actor_user_id: h.users.lead.id, source_ip: '10.0.0.1' });
    expect(entry.device_id).toBeTruthy();
    expect(entry.detail).toMatchObject({ callId: 'a-call-1@pbx' });
    const pb = await h.db.selectFrom('recording_playbacks').selectAll().where('recording_id', '=', ids.rec1).where('user_id', '=', h.users.lead.id).executeTakeFirstOrThrow();
    expect(pb.requests).toBeGreaterThanOrEqual(5);
    expect(pb.listened_ms).toBe(5000);
  });

  it('capabilities: expired, replayed by another user or session, for another recording, or forged: refused and audited', async () => {
    const grant = await h.ok('POST', `/recordings/${ids.rec1}/play`, lead);
    const cap = grant.capability as string;
    expect((await inject(grant.streamPath, lead, { range: 'bytes=0-9' })).statusCode).toBe(206);
    // another user who may hear it (the admin) with the lead's capability
    const other = await inject(grant.streamPath, admin, { range: 'bytes=0-9' });
    expect(other.statusCode).toBe(403);
    // the same lead in another session (another sign-in)
    const lead2nd = await h.token(h.users.lead);
    expect((await inject(grant.streamPath, lead2nd, { range: 'bytes=0-9' })).statusCode).toBe(403);
    // this capability on another recording's stream
    expect((await inject(`/recordings/${ids.rec2}/stream?cap=${cap}`, lead, { range: 'bytes=0-9' })).statusCode).toBe(403);
    // forged: payload altered (another recording id), signature kept
    const [payload, sig] = cap.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, rid: ids.rec2 })).toString('base64url')}.${sig}`;
    expect((await inject(`/recordings/${ids.rec2}/stream?cap=${forged}`, lead, { range: 'bytes=0-9' })).statusCode).toBe(403);
    // expired: 61 s later
    h.clock.advance(61_000);
    const late = await inject(grant.streamPath, lead, { range: 'bytes=0-9' });
    expect(late.statusCode).toBe(403);
    expect(late.rawPayload.includes(Buffer.from('RIFF'))).toBe(false);
    const refusals = await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'recording.capability_refused').execute();
    expect(refusals.map((r) => (r.detail as { reason: string }).reason).sort()).toEqual(['invalid_or_expired', 'invalid_or_expired', 'other_recording', 'other_session', 'other_user']);
    // no capability at all: the contract refuses it
    expect((await inject(`/recordings/${ids.rec1}/stream`, lead)).statusCode).toBe(400);
  });

  it('scope: a lead of another team, an operator of another campaign and a nonexistent id get the same answer', async () => {
    const none = randomUUID();
    const expected = await raw(await play(none, lead2));
    expect(expected).toMatch(/^404 /);
    expect(await raw(await play(ids.rec1, lead2))).toBe(expected);
    expect(await raw(await play(none, opB))).toBe(expected);
    // operators: their own calls only if the org allows (default: no)
    expect(await raw(await play(ids.rec1, opB))).toBe(expected);
    expect(await raw(await play(ids.rec1, opA))).toBe(expected);
    await h.patchPolicy({ recordings: { operatorsHearOwnCalls: true } });
    expect((await play(ids.rec1, opA)).status).toBe(200);
    expect(await raw(await play(ids.rec1, opB))).toBe(expected); // still not another's
    expect((await play(ids.recB, opB)).status).toBe(200);
    await h.patchPolicy({ recordings: { operatorsHearOwnCalls: false } });
    // the lead of the team hears it, the lead of team B hears B's operator
    expect((await play(ids.rec1, lead)).status).toBe(200);
    expect((await play(ids.recB, lead2)).status).toBe(200);
    expect(await raw(await play(ids.recB, lead))).toBe(expected);
    // lists: nothing of the other's, same as for nothing at all
    const listOther = await h.req('GET', `/recordings?callId=${encodeURIComponent('a-call-1@pbx')}`, { token: lead2 });
    const listNone = await h.req('GET', `/recordings?callId=${encodeURIComponent('no-such@pbx')}`, { token: lead2 });
    expect(await raw(listOther)).toBe(await raw(listNone));
    // by customer: the lead sees the customer's recordings
    expect((await h.ok('GET', `/recordings?customerId=${ids.custA}`, lead)).recordings.length).toBe(3);
  });

  it('a tampered chunk fails, is reported (audited) and is never played; the chunks around it still play', async () => {
    const r = await h.db.selectFrom('recordings').selectAll().where('id', '=', ids.rec3).executeTakeFirstOrThrow();
    const path = join(dir, r.file_name);
    const file = readFileSync(path);
    const chunk = r.chunk_bytes;
    file[HEADER_BYTES + 1 * (chunk + TAG_BYTES) + 500]! ^= 0x5a; // chunk 1 = WAV bytes 44+32000 .. 44+63999
    writeFileSync(path, file);
    const grant = await h.ok('POST', `/recordings/${ids.rec3}/play`, lead);
    const ok = await inject(grant.streamPath, lead, { range: 'bytes=0-31999' });
    expect(ok.statusCode).toBe(206);
    expect(ok.rawPayload.equals(audio[ids.rec3]!.subarray(0, 32000))).toBe(true);
    const bad = await inject(grant.streamPath, lead, { range: `bytes=${WAV_HEADER_BYTES + chunk + 10}-${WAV_HEADER_BYTES + chunk + 2000}` });
    expect(bad.statusCode).toBe(500);
    expect(bad.headers['content-type']).toMatch(/json/);
    expect(JSON.parse(bad.body).error.message).toMatch(/integrity/);
    // the whole, streamed: the response is cut before any byte of the bad chunk
    const whole = await inject(grant.streamPath, lead).then((res) => res.rawPayload.length, (err: Error) => err.message);
    expect(whole).toMatch(/destroyed before completion/);
    const audits = await h.db.selectFrom('audit_log').select('detail').where('action', '=', 'recording.integrity_failed').where('target_id', '=', ids.rec3).execute();
    expect(audits.length).toBeGreaterThanOrEqual(1);
    expect(audits[0]!.detail).toMatchObject({ chunk: 1, sha256: r.sha256 });
  });

  it('KEK rotation: rewrap moves every live data key to the new KEK; the old one can then go, the audio is unchanged', async () => {
    const K2 = { id: 'kek-2027', key: randomBytes(32).toString('base64') };
    const rotated = new RecordingsService(h.db, h.clock, { ...h.gw.ctx.config, recordings: { ...h.gw.ctx.config.recordings, keks: [K2, KEK] } }, 'rewrap-test-secret', 'rewrap-test-instance');
    const before = await h.db.selectFrom('recordings').select(['id', 'kek_id', 'wrapped_key', 'sha256']).where('status', '=', 'complete').execute();
    const out = await rotated.rewrapAll();
    expect(out).toEqual({ rewrapped: before.length, failed: [] });
    expect(await rotated.rewrapAll()).toEqual({ rewrapped: 0, failed: [] }); // idempotent
    const r = await h.db.selectFrom('recordings').selectAll().where('id', '=', ids.rec2).executeTakeFirstOrThrow();
    expect(r.kek_id).toBe('kek-2027');
    expect(r.sha256).toBe(before.find((b) => b.id === ids.rec2)!.sha256); // the file was not touched
    const onlyNew = new KeyRing([{ id: K2.id, key: Buffer.from(K2.key, 'base64') }]);
    const pcmBack = await decryptFile(join(dir, r.file_name), r.id, r.kek_id, Buffer.from(r.wrapped_key!, 'base64'), onlyNew);
    expect(Buffer.concat([wavHeader(pcmBack.length), pcmBack]).equals(audio[ids.rec2]!)).toBe(true);
    // the running gateway (old KEK list) can no longer unwrap it: refused and reported, never a crash
    const grant = await h.ok('POST', `/recordings/${ids.rec2}/play`, lead);
    expect((await inject(grant.streamPath, lead, { range: 'bytes=0-99' })).statusCode).toBe(500);
    // give the old KEK back its recordings for the tests below
    const back = new RecordingsService(h.db, h.clock, { ...h.gw.ctx.config, recordings: { ...h.gw.ctx.config.recordings, keks: [KEK, K2] } }, 'rewrap-test-secret', 'rewrap-test-instance');
    expect((await back.rewrapAll()).failed).toEqual([]);
    expect((await inject(grant.streamPath, lead, { range: 'bytes=0-99' })).rawPayload.equals(audio[ids.rec2]!.subarray(0, 100))).toBe(true);
  });

  it('retention purges what is due (key destroyed, file removed, receipt in the audit chain) and keeps what is on hold', async () => {
    admin = await h.token(h.users.admin);
    const holdCall = await h.db.selectFrom('calls').select('id').where('sip_call_id', '=', 'a-call-2@pbx').executeTakeFirstOrThrow();
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: holdCall.id, hold: true });
    // not due yet at 29 days
    h.clock.advance(29 * 86_400_000);
    expect(await h.gw.ctx.recordings.purgeDue()).toBe(0);
    h.clock.advance(2 * 86_400_000);
    admin = await h.token(h.users.admin);
    lead2 = await h.token(lead2User);
    // another instance purging at the same moment: each row once
    const [n1, n2] = await Promise.all([h.gw.ctx.recordings.purgeDue(), h.gw.ctx.recordings.purgeDue()]);
    expect(n1 + n2).toBe(2); // rec1 and rec3; rec2 held; recB's campaign keeps forever
    const rows = await h.db.selectFrom('recordings').selectAll().execute();
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    for (const id of [ids.rec1, ids.rec3]) {
      expect(by[id]).toMatchObject({ status: 'purged', wrapped_key: null, purge_reason: 'retention', file_deleted: true });
      expect(existsSync(join(dir, by[id]!.file_name))).toBe(false);
    }
    for (const id of [ids.rec2, ids.recB]) {
      expect(by[id]!.status).toBe('complete');
      expect(existsSync(join(dir, by[id]!.file_name))).toBe(true);
    }
    const receipts = await h.db.selectFrom('audit_log').select(['target_id', 'detail', 'actor_user_id']).where('action', '=', 'recording.deleted').execute();
    expect(receipts.map((r) => r.target_id).sort()).toEqual([ids.rec1, ids.rec3].sort());
    expect(receipts.find((r) => r.target_id === ids.rec1)!.detail).toMatchObject({ reason: 'retention', sha256: by[ids.rec1]!.sha256, callId: 'a-call-1@pbx', retentionDays: 30 });
    // purged: gone for everyone, same as nonexistent
    expect(await raw(await play(ids.rec1, admin))).toBe(await raw(await play(randomUUID(), admin)));
    // the hold on the customer keeps it too once the call's is lifted
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'customer', id: ids.custA, hold: true });
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'call', id: holdCall.id, hold: false });
    expect(await h.gw.ctx.recordings.purgeDue()).toBe(0);
    await h.ok('PUT', '/recordings/legal-hold', admin, { target: 'customer', id: ids.custA, hold: false });
    expect(await h.gw.ctx.recordings.purgeDue()).toBe(1);
    expect(await h.auditActions({ action: 'legal_hold.set' })).toHaveLength(2);
  });

  it('deletion on request: the key and file go, a receipt is written; only recordings:manage may', async () => {
    expect((await h.req('POST', `/recordings/${ids.recB}/delete`, { token: lead2, body: { reason: '本人からの削除請求' } })).status).toBe(403);
    const receipt = await h.ok('POST', `/recordings/${ids.recB}/delete`, admin, { reason: '本人からの削除請求' });
    expect(receipt).toMatchObject({ recordingId: ids.recB, reason: 'request' });
    const r = await h.db.selectFrom('recordings').selectAll().where('id', '=', ids.recB).executeTakeFirstOrThrow();
    expect(r).toMatchObject({ status: 'purged', wrapped_key: null, file_deleted: true });
    expect(receipt.sha256).toBe(r.sha256);
    const entry = await h.db.selectFrom('audit_log').selectAll().where('action', '=', 'recording.deleted').where('target_id', '=', ids.recB).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ actor_user_id: h.users.admin.id });
    expect(entry.detail).toMatchObject({ reason: 'request', requestReason: '本人からの削除請求', sha256: r.sha256 });
    expect((await h.req('POST', `/recordings/${ids.recB}/delete`, { token: admin, body: { reason: 'again' } })).status).toBe(404);
  });
});
