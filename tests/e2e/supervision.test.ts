// Supervision end to end with audio proof: the operator's page and the team lead's page (dev
// host + Chromium, each with its own sine-tone microphone), baresip as the customer, the real
// stack. Customer 440 Hz, operator 1000 Hz, lead 2500 Hz; pages measure by FFT, baresip's
// recording of what the customer heard is analysed here (Goertzel) for the isolation in dB.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { channel, toneShare } from '../../server/recordings/audio';
import { decryptFile, KeyRing } from '../../server/recordings/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, tonePower } from '../support/tone';
import { CALLER, CUSTOMER_HZ, LEAD_HZ, OPERATOR_HZ, clickAndHearBoth, levels, supervisionWorld, type SupervisionWorld } from './supervision-harness';
import { finishWrapUp } from './softphone-support';
import { seriousA11yViolations } from '../support/axe';
import type { BaresipEvent } from '../integration/telephony/baresip';

let w: SupervisionWorld;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  w = await supervisionWorld();
}, 120_000);
afterAll(async () => {
  await w?.close();
});

const opState = (w: SupervisionWorld) => w.op.evaluate(() => {
  const t = (window as any).__koeTest;
  return { pcs: t.pcs.length, open: t.pcs.filter((p: RTCPeerConnection) => p.connectionState !== 'closed').length, sipIn: t.sipIn, sipOut: t.sipOut };
});

async function audits(action: string) {
  const rows = await w.stack.gateway.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).where('org_id', '=', w.orgId).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
}

describe('supervision (operator + lead pages, baresip customer, Kamailio + rtpengine)', () => {
  it('monitor, whisper, barge, another team\'s lead refused, and the call\'s end closes the lead\'s legs', async () => {
    const { op, lead, pstn } = w;
    // An INVITE from anyone else (here: straight to the operator's AoR) is an ordinary call:
    // it rings, and it never opens a listening leg (supervision set-up comes only from the gateway link).
    const pcsBefore = (await opState(w)).pcs;
    pstn.dial(`sip:${w.users.op.username.toLowerCase()}@${w.stack.sip.domain}`);
    await op.getByTestId('ringing').waitFor({ timeout: 10_000 });
    expect(await op.getByTestId('coaching-indicator').count()).toBe(0);
    expect(await op.locator('audio[data-testid="coaching-audio"]').count()).toBe(0);
    expect((await opState(w)).pcs).toBe(pcsBefore); // an unanswered INVITE opens no connection at all
    await op.getByTestId('reject').click();
    await op.getByTestId('ringing').waitFor({ state: 'detached' });
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await op.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
    await sleep(300);
    pstn.dial(`sip:${w.did}@${w.stack.sip.domain}`);
    await op.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await op.getByTestId('answer').click();
    await op.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    const tEstablished = Date.now();
    const callId = (await w.stack.gateway.ctx.db.selectFrom('calls').select('sip_call_id').where('operator_id', '=', w.users.op.id).orderBy('ringing_at', 'desc').limit(1).executeTakeFirstOrThrow()).sip_call_id;

    // The board (pushed over /ws): the operator, on a call, registered, with the customer's name (in scope).
    const row = lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"]`);
    await lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"][data-state="on_call"][data-registration="registered"]`).waitFor({ timeout: 5000 });
    await row.getByTestId('board-customer').waitFor({ timeout: 5000 });
    expect(await row.getByTestId('board-customer').textContent()).toBe('鈴木 花子');
    expect(await lead.locator(`[data-testid="board-row"][data-username="${w.users.op2.username}"]`).count()).toBe(0);
    await sleep(800);

    // ---- monitor: the lead hears both; the operator's page sees nothing at all
    const before = await opState(w);
    const hearMs = await clickAndHearBoth(lead, `monitor-${w.users.op.username}`, [CUSTOMER_HZ, OPERATOR_HZ]);
    console.log(`lead click -> hears both parties: ${hearMs.toFixed(0)} ms`);
    expect(hearMs).toBeGreaterThan(0);
    await lead.locator('[data-testid="supervision-panel"][data-status="listening"][data-mode="monitor"]').waitFor();
    // Peak over 3 s right after the click: both tracks must play (an ICE role conflict on one
    // of the two m-lines once silenced one; see docs/telephony.md).
    const [c1, o1] = await levels(lead, 'audio[data-testid="supervision-audio"]', [CUSTOMER_HZ, OPERATOR_HZ], 3000);
    console.log(`monitor: lead hears customer ${c1!.toFixed(1)} dBFS, operator ${o1!.toFixed(1)} dBFS`);
    expect(c1).toBeGreaterThan(-50);
    expect(o1).toBeGreaterThan(-50);
    expect(await opState(w)).toEqual(before); // no new PeerConnection, no SIP message in or out
    expect(await op.getByTestId('coaching-indicator').count()).toBe(0);

    // ---- whisper: the operator hears the lead; the customer does not
    const tWhisper = Date.now();
    await lead.getByTestId('mode-whisper').click();
    await lead.locator('[data-testid="supervision-panel"][data-mode="whisper"][data-operator-connected="true"][data-status="listening"]').waitFor({ timeout: 8000 });
    await op.locator('[data-testid="coaching-indicator"][data-mode="whisper"]').waitFor();
    await sleep(1500);
    const [leadAtOp] = await levels(op, 'audio[data-testid="coaching-audio"]', [LEAD_HZ]);
    console.log(`whisper: operator hears the lead at ${leadAtOp!.toFixed(1)} dBFS`);
    expect(leadAtOp).toBeGreaterThan(-50);
    const whisperEnd = Date.now();
    // the operator's call itself still unchanged (the whisper is a second, non-SIP connection)
    const during = await opState(w);
    expect(during.sipIn).toBe(before.sipIn);
    expect(during.sipOut).toBe(before.sipOut);
    expect(during.pcs).toBe(before.pcs + 1);

    // ---- barge: the customer hears the lead too (mixed on the operator's page)
    await lead.getByTestId('mode-barge').click();
    await lead.locator('[data-testid="supervision-panel"][data-mode="barge"][data-status="listening"]').waitFor();
    await op.locator('[data-testid="coaching-indicator"][data-mode="barge"]').waitFor();
    const tBarge = Date.now();
    await sleep(2000);
    const bargeEnd = Date.now();

    // ---- back to monitor: the operator's second connection closes, the indicator goes
    await lead.getByTestId('mode-monitor').click();
    await lead.locator('[data-testid="supervision-panel"][data-mode="monitor"][data-status="listening"]').waitFor();
    await op.getByTestId('coaching-indicator').waitFor({ state: 'detached' });
    expect((await opState(w)).open).toBe(before.open);
    const [c2, o2] = await levels(lead, 'audio[data-testid="supervision-audio"]', [CUSTOMER_HZ, OPERATOR_HZ], 600);
    expect(Math.min(c2!, o2!)).toBeGreaterThan(-50); // the call never dropped

    // ---- a lead of another team is refused and audited
    const refused = await w.api('POST', '/supervision', 'lead2', { callId });
    expect(refused.status).toBe(403);
    const [ref] = (await audits('supervision.refused')).filter((r) => r.detail.callId === callId);
    expect(ref!.detail).toMatchObject({ leadId: w.users.lead2.id, operatorId: w.users.op.id, reason: 'not_in_team', mode: 'monitor' });

    // ---- the customer hangs up: the gateway closes the lead's legs
    const tBye = Date.now();
    pstn.hangup();
    await lead.locator('[data-testid="supervision-panel"][data-status="ended"]').waitFor({ timeout: 5000 });
    const endedMs = Date.now() - tBye;
    console.log(`customer BYE -> lead's legs closed: ${endedMs} ms`);
    expect(await lead.locator('audio[data-testid="supervision-audio"]').count()).toBe(0);
    expect(await lead.evaluate(() => (window as any).__koeTest.pcs.filter((p: RTCPeerConnection) => p.connectionState !== 'closed' && p.getTransceivers().some((t) => t.receiver.track && !t.sender.track && t.direction !== 'sendrecv')).length)).toBe(0);
    expect(await w.stack.gateway.ctx.supervision.active()).toEqual([]);
    const actions = (await audits('supervision.started')).concat(await audits('supervision.mode'), await audits('supervision.stopped')).filter((r) => r.detail.callId === callId);
    expect(actions.map((a) => `${a.action}:${a.detail.mode}`).sort()).toEqual(
      ['supervision.started:monitor', 'supervision.mode:whisper', 'supervision.mode:barge', 'supervision.mode:monitor', 'supervision.stopped:monitor'].sort(),
    );
    expect(actions.find((a) => a.action === 'supervision.stopped')!.detail.reason).toBe('call_ended');

    // ---- what the customer heard (baresip's recording): whisper never, barge yes
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await sleep(300);
    const wav = pstn.recordings().filter((p) => /dec/.test(p)).sort((a, b) => statSync(b).size - statSync(a).size);
    expect(wav.length).toBeGreaterThan(0);
    const { rate, samples } = readWav(wav[0]!); // the supervised call's (the rejected one has no audio)
    const at = (t: number) => ((t - tEstablished) / 1000) * rate;
    const db = (p: number) => 10 * Math.log10(Math.max(p, 1e-20));
    const wLead = tonePower(samples, rate, LEAD_HZ, at(tWhisper + 800), at(whisperEnd));
    const wOp = tonePower(samples, rate, OPERATOR_HZ, at(tWhisper + 800), at(whisperEnd));
    const bLead = tonePower(samples, rate, LEAD_HZ, at(tBarge + 500), at(bargeEnd));
    const bOp = tonePower(samples, rate, OPERATOR_HZ, at(tBarge + 500), at(bargeEnd));
    console.log(
      `customer's recording: whisper lead ${db(wLead).toFixed(1)} dB vs operator ${db(wOp).toFixed(1)} dB (isolation ${(db(wOp) - db(wLead)).toFixed(1)} dB); ` +
        `barge lead ${db(bLead).toFixed(1)} dB vs operator ${db(bOp).toFixed(1)} dB`,
    );
    expect(db(wOp) - db(wLead)).toBeGreaterThanOrEqual(40);
    expect(db(bOp) - db(bLead)).toBeLessThan(20); // in barge the lead is as audible as the operator (within 20 dB)
  });

  it('an outbound call is supervised like an inbound one: the lead monitors both parties, whispers to the operator alone, barges, and the operator\'s hang-up closes the lead\'s legs', async () => {
    const { op, lead, pstn } = w;
    // the inbound call of the test before left the operator in wrap-up
    await op.locator('[data-testid="agent-state"][data-state="wrap_up"]').waitFor({ timeout: 10_000 });
    await finishWrapUp(op);
    const from = pstn.events.length;
    const after = (type: string) => (e: BaresipEvent) => e.type === type && pstn.events.indexOf(e) >= from;
    // the customer's campaign records every call: the outbound call's recording is checked below
    const gw = w.stack.gateway.ctx.db;
    const { campaign_id: campaignId } = await gw.selectFrom('customer_phones').select('campaign_id').where('e164', '=', CALLER).where('org_id', '=', w.orgId).executeTakeFirstOrThrow();
    await gw.updateTable('campaigns').set({ recording_mode: 'all', recording_retention_days: 90 }).where('id', '=', campaignId).execute();
    await op.getByTestId('dial-number').fill(CALLER);
    await op.getByTestId('dial').click();
    await pstn.wait(after('CALL_INCOMING'));
    pstn.command('accept');
    await op.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await pstn.wait(after('CALL_ESTABLISHED'));
    const tEstablished = Date.now();
    const call = await w.stack.gateway.ctx.db.selectFrom('calls').select(['sip_call_id', 'direction']).where('operator_id', '=', w.users.op.id).orderBy('created_at', 'desc').limit(1).executeTakeFirstOrThrow();
    expect(call.direction).toBe('outbound');
    await lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"][data-state="on_call"]`).waitFor({ timeout: 5000 });
    await sleep(800);

    // monitor: both parties, the operator's page untouched
    const before = await opState(w);
    const hearMs = await clickAndHearBoth(lead, `monitor-${w.users.op.username}`, [CUSTOMER_HZ, OPERATOR_HZ]);
    console.log(`outbound: lead click -> hears both parties: ${hearMs.toFixed(0)} ms`);
    expect(hearMs).toBeGreaterThan(0);
    expect(await opState(w)).toEqual(before);

    // the part of the recording before the whisper is checked below for the two parties alone:
    // give it 2 s of the recording's own timeline (its row's started_at), however late it started
    for (let i = 0; i < 50; i++) {
      const r = await gw.selectFrom('recordings').select('started_at').where('org_id', '=', w.orgId).where('started_at', '>=', new Date(tEstablished - 5_000)).executeTakeFirst();
      if (r) {
        await sleep(Math.max(0, new Date(r.started_at as unknown as string | Date).getTime() + 2_000 - Date.now()));
        break;
      }
      await sleep(100);
    }
    // whisper: the operator hears the lead
    const tWhisper = Date.now();
    await lead.getByTestId('mode-whisper').click();
    await op.locator('[data-testid="coaching-indicator"][data-mode="whisper"]').waitFor({ timeout: 8000 });
    await sleep(1500);
    const [leadAtOp] = await levels(op, 'audio[data-testid="coaching-audio"]', [LEAD_HZ]);
    console.log(`outbound whisper: operator hears the lead at ${leadAtOp!.toFixed(1)} dBFS`);
    expect(leadAtOp).toBeGreaterThan(-50);
    const whisperEnd = Date.now();

    // barge
    await lead.getByTestId('mode-barge').click();
    await op.locator('[data-testid="coaching-indicator"][data-mode="barge"]').waitFor({ timeout: 8000 });
    const tBarge = Date.now();
    await sleep(2000);
    const bargeEnd = Date.now();

    // the operator hangs up: the gateway closes the lead's legs
    await op.getByTestId('hangup').click();
    await lead.locator('[data-testid="supervision-panel"][data-status="ended"]').waitFor({ timeout: 5000 });
    expect(await w.stack.gateway.ctx.supervision.active()).toEqual([]);
    const actions = (await audits('supervision.started')).concat(await audits('supervision.mode'), await audits('supervision.stopped')).filter((r) => r.detail.callId === call.sip_call_id);
    expect(actions.map((a) => `${a.action}:${a.detail.mode}`).sort()).toEqual(
      ['supervision.started:monitor', 'supervision.mode:whisper', 'supervision.mode:barge', 'supervision.stopped:barge'].sort(),
    );

    // what the customer heard: the lead never during the whisper, as loud as the operator in the barge
    await pstn.wait(after('CALL_CLOSED'));
    await sleep(300);
    const wav = pstn.recordings().filter((p) => /dec/.test(p)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const { rate, samples } = readWav(wav[0]!);
    const at = (t: number) => ((t - tEstablished) / 1000) * rate;
    const db = (p: number) => 10 * Math.log10(Math.max(p, 1e-20));
    const wLead = tonePower(samples, rate, LEAD_HZ, at(tWhisper + 800), at(whisperEnd));
    const wOp = tonePower(samples, rate, OPERATOR_HZ, at(tWhisper + 800), at(whisperEnd));
    const bLead = tonePower(samples, rate, LEAD_HZ, at(tBarge + 500), at(bargeEnd));
    const bOp = tonePower(samples, rate, OPERATOR_HZ, at(tBarge + 500), at(bargeEnd));
    console.log(`outbound, customer's recording: whisper isolation ${(db(wOp) - db(wLead)).toFixed(1)} dB; barge lead ${db(bLead).toFixed(1)} vs operator ${db(bOp).toFixed(1)} dB`);
    expect(db(wOp) - db(wLead)).toBeGreaterThanOrEqual(40);
    expect(db(bOp) - db(bLead)).toBeLessThan(20);

    // the recording of the outbound call: the customer left, the operator right (the legs say
    // who is who, server/supervision/parties.ts; the operator's WebRTC leg was the caller here)
    let rec;
    for (let i = 0; i < 50; i++) {
      rec = await gw.selectFrom('recordings').selectAll().where('org_id', '=', w.orgId).orderBy('started_at', 'desc').executeTakeFirst();
      if (rec?.status === 'complete') break;
      await sleep(100);
    }
    expect(rec?.status).toBe('complete');
    const kek = w.recordings.keks[0]!;
    const pcm = await decryptFile(join(w.recordings.dir, rec!.file_name), rec!.id, rec!.kek_id, Buffer.from(rec!.wrapped_key!, 'base64'), new KeyRing([{ id: kek.id, key: Buffer.from(kek.key, 'base64') }]));
    // before the whisper (the recording starts at the answer): only the two parties' tones
    const t0Rec = new Date(rec!.started_at as unknown as string | Date).getTime();
    const span = (x: Int16Array) => x.subarray(Math.round(0.3 * 8000), Math.max(Math.round(0.3 * 8000) + 800, Math.round(((tWhisper - t0Rec) / 1000 - 0.2) * 8000)));
    const left = span(channel(pcm, 0));
    const right = span(channel(pcm, 1));
    const shares = { leftCustomer: toneShare(left, CUSTOMER_HZ), leftOperator: toneShare(left, OPERATOR_HZ), rightOperator: toneShare(right, OPERATOR_HZ), rightCustomer: toneShare(right, CUSTOMER_HZ) };
    console.log(`outbound recording (${(pcm.length / 32000).toFixed(1)} s; ${(left.length / 8000).toFixed(1)} s before the whisper): ${JSON.stringify(Object.fromEntries(Object.entries(shares).map(([k, v]) => [k, v.toFixed(3)])))}`);
    expect(shares.leftCustomer).toBeGreaterThan(0.5);
    expect(shares.leftOperator).toBeLessThan(0.05);
    expect(shares.rightOperator).toBeGreaterThan(0.5);
    expect(shares.rightCustomer).toBeLessThan(0.05);

    // supervision in the recording (docs/telephony.md "Recordings", "Supervised calls"): the
    // recording holds what the two parties heard of each other. A whisper is heard by the
    // operator only: never in either channel. A barge is heard by the customer: in the operator's
    // channel (right), mixed with the operator, as the customer heard it; never in the left.
    // The recording's timeline starts at its row's started_at (the subscription follows at once).
    const t0 = new Date(rec!.started_at as unknown as string | Date).getTime();
    const win = (x: Int16Array, a: number, b: number) => x.subarray(Math.max(0, Math.round(((a - t0) / 1000) * 8000)), Math.max(0, Math.round(((b - t0) / 1000) * 8000)));
    const all = { left: channel(pcm, 0), right: channel(pcm, 1) };
    const wL = win(all.left, tWhisper + 800, whisperEnd);
    const wR = win(all.right, tWhisper + 800, whisperEnd);
    const bL = win(all.left, tBarge + 500, bargeEnd);
    const bR = win(all.right, tBarge + 500, bargeEnd);
    const sup = {
      whisperLeadLeft: toneShare(wL, LEAD_HZ), whisperLeadRight: toneShare(wR, LEAD_HZ), whisperOperatorRight: toneShare(wR, OPERATOR_HZ), whisperCustomerLeft: toneShare(wL, CUSTOMER_HZ),
      bargeLeadRight: toneShare(bR, LEAD_HZ), bargeOperatorRight: toneShare(bR, OPERATOR_HZ), bargeLeadLeft: toneShare(bL, LEAD_HZ), bargeCustomerLeft: toneShare(bL, CUSTOMER_HZ),
    };
    console.log(`supervised recording (whisper ${(wR.length / 8000).toFixed(1)} s, barge ${(bR.length / 8000).toFixed(1)} s): ${JSON.stringify(Object.fromEntries(Object.entries(sup).map(([k, v]) => [k, v.toFixed(3)])))}`);
    // the lead relative to the operator in the barge: in the recording's right channel as at the customer's ear (baresip's recording above)
    const recBargeDb = 10 * Math.log10(Math.max(sup.bargeLeadRight, 1e-9) / Math.max(sup.bargeOperatorRight, 1e-9));
    console.log(`barge: lead vs operator ${recBargeDb.toFixed(1)} dB in the recording's right channel, ${(db(bLead) - db(bOp)).toFixed(1)} dB at the customer`);
    expect(wR.length).toBeGreaterThan(4000);
    expect(bR.length).toBeGreaterThan(8000);
    expect(sup.whisperLeadLeft).toBeLessThan(0.01);
    expect(sup.whisperLeadRight).toBeLessThan(0.01);
    expect(sup.whisperOperatorRight).toBeGreaterThan(0.5);
    expect(sup.bargeLeadLeft).toBeLessThan(0.01);
    expect(recBargeDb).toBeGreaterThan(-20);
    expect(Math.abs(recBargeDb - (db(bLead) - db(bOp)))).toBeLessThan(6);
  });
  it('the lead\'s board shows the queue figures of the calls above, as the database counts them', async () => {
    // By hand: the file's DID calls are one inbound call, answered (the call straight to the
    // operator's address and the outbound call are not the campaign's inbound traffic); nobody waits.
    const hand = { waiting: '0', offered: '1', answered: '1', abandoned: '0' };
    await w.stack.gateway.ctx.supervision.statsFeed.refresh();
    const row = w.lead.locator('[data-testid="queue-row"][data-campaign="料金窓口"]');
    await row.waitFor({ timeout: 10_000 });
    const cells = async () => ({
      waiting: await row.getByTestId('q-waiting').innerText(),
      offered: await row.getByTestId('q-offered').innerText(),
      answered: await row.getByTestId('q-answered').innerText(),
      abandoned: await row.getByTestId('q-abandoned').innerText(),
    });
    for (let i = 0; i < 100 && JSON.stringify(await cells()) !== JSON.stringify(hand); i++) await sleep(100);
    expect(await cells()).toEqual(hand);
    // the operator's row: the calls they answered today (inbound and outbound), from the calls rows
    const answered = await w.stack.gateway.ctx.db.selectFrom('calls').select('id').where('operator_id', '=', w.users.op.id).where('answered_at', 'is not', null).execute();
    expect(answered.length).toBe(2);
    const opRow = w.lead.locator(`[data-testid="op-stats-row"][data-user="${w.users.op.id}"]`);
    await opRow.waitFor({ timeout: 10_000 });
    expect(await opRow.getByTestId('o-calls').innerText()).toBe('2');
    expect(await opRow.getByTestId('o-missed').innerText()).toBe('0');
  });
  it("the operator raises a hand, the lead's board shows it and the lead acknowledges it; the operator sees that; no serious axe violation on either page", async () => {
    const toggle = w.op.getByTestId('hand-toggle');
    await toggle.click();
    await w.op.locator('[data-testid="hand-toggle"][aria-pressed="true"]').waitFor({ timeout: 5000 });
    const row = w.lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"][data-hand="raised"]`);
    await row.waitFor({ timeout: 5000 });
    expect(await row.getByTestId('board-hand').innerText()).toContain('ヘルプ要請');
    expect(await seriousA11yViolations(w.lead, '[data-testid="lead-board"]'), 'the board with a raised hand').toEqual([]);
    expect(await seriousA11yViolations(w.op, '[data-testid="agent-panel"]'), 'the agent panel with the hand up').toEqual([]);
    await row.getByTestId(`hand-acknowledge-${w.users.op.username}`).click();
    await w.op.locator('[data-testid="hand-toggle"][data-acknowledged="true"]').waitFor({ timeout: 5000 });
    await w.lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"][data-hand="acknowledged"]`).waitFor({ timeout: 5000 });
    expect((await audits('agent.hand_acknowledged')).map((e) => e.actor_user_id)).toEqual([w.users.lead.id]);
    await toggle.click();
    await w.lead.locator(`[data-testid="board-row"][data-username="${w.users.op.username}"]:not([data-hand])`).waitFor({ timeout: 5000 });
  });
});
