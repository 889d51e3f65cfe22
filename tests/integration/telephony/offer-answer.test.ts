// Issue 11 item 5, complete offer/answer through rtpengine, against real Kamailio + rtpengine:
// the carrier is a scripted UDP trunk with its own RTP end (carrier.ts: PCMU, a 440 Hz tone),
// the operator a SIP.js page in Chromium with Koe's request guard (sip-guard.ts, a 1000 Hz
// tone). Every in-dialog event is checked on the wire and by tone levels both ways in the
// window before and the window after it.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Carrier, carrierSdp } from './carrier';
import { AgentWs, telephonyFixture, type TelephonyFixture } from './fixture';
import { hdr } from './sip-ws';
import { SoftphonePage } from './softphone-page';

const CUSTOMER_HZ = 440;
const OPERATOR_HZ = 1000;
const WINDOW_MS = 1200;

let f: TelephonyFixture;
let carrier: Carrier;
let phone: SoftphonePage;
let agent: AgentWs;

beforeAll(async () => {
  f = await telephonyFixture();
  carrier = await Carrier.start({ trunk: f.stack.sip.trunk, kamailio: f.stack.sip.udp, toneHz: CUSTOMER_HZ });
  phone = await SoftphonePage.open();
  const c = await f.credentials('opA');
  await phone.page.evaluate((cfg) => (window as any).startPhone(cfg), {
    aor: c.aor, wsUrl: f.stack.sip.wsUrl, username: c.authorizationUsername, password: c.authorizationPassword, toneHz: OPERATOR_HZ, expectHz: CUSTOMER_HZ, guard: true,
  });
  agent = await f.agent('opA');
});
afterAll(async () => {
  agent?.close();
  carrier?.close();
  await phone?.close();
  await f?.close();
});

const koe = () => phone.page.evaluate(() => {
  const o = (window as any).koe;
  return { state: o.state as string, invitedAt: o.invitedAt as number | undefined, refused: o.refused as any[], reinvites: o.reinvites as any[], callId: o.callId as string };
});
/** The page's remote description. SIP.js reports Established on the ACK before the answer in
 *  it is applied to the peer connection, so wait for the description to be set. */
async function remoteSdp(): Promise<string> {
  const handle = await phone.page.waitForFunction(
    () => (window as any).koe.session?.sessionDescriptionHandler?.peerConnection?.remoteDescription?.sdp as string | undefined,
    undefined,
    { timeout: 5000 },
  );
  return (await handle.jsonValue()) as string;
}

/** Tone levels both ways over the last WINDOW_MS: what the page hears (FFT) and what the carrier hears. */
async function audioBothWays(label: string) {
  const to = Date.now();
  await sleep(WINDOW_MS);
  const end = Date.now();
  const samples: { t: number; target: number; off: number }[] = await phone.page.evaluate(() => (window as any).koe.samples);
  const win = samples.filter((s) => s.t >= to && s.t < end);
  const pageTarget = Math.max(...win.map((s) => s.target));
  const pageOff = Math.max(...win.map((s) => s.off));
  const carrierHeard = carrier.heardBetween(to, end, OPERATOR_HZ);
  const pts = [...new Set(carrier.rtpIn.filter((p) => p.t >= to && p.t < end).map((p) => p.pt))];
  console.log(
    `${label}: page hears ${CUSTOMER_HZ} Hz at ${pageTarget.toFixed(1)} dBFS (off-tone ${pageOff.toFixed(1)}); carrier hears ${(carrierHeard.share * 100).toFixed(0)} % ${OPERATOR_HZ} Hz at ${carrierHeard.dbfs.toFixed(1)} dBFS over ${carrierHeard.seconds.toFixed(2)} s (payload types ${pts.join(',')})`,
  );
  expect(win.length, `${label}: page samples`).toBeGreaterThan(5);
  expect(pageTarget, `${label}: the page hears the customer`).toBeGreaterThan(-50);
  expect(pageTarget - pageOff, `${label}: the page hears the customer's tone`).toBeGreaterThan(20);
  expect(carrierHeard.seconds, `${label}: the carrier receives audio`).toBeGreaterThan(0.5);
  expect(carrierHeard.share, `${label}: the carrier hears the operator's tone`).toBeGreaterThan(0.3);
  expect(carrierHeard.dbfs, `${label}: the carrier's level`).toBeGreaterThan(-30);
}

/** What the carrier may never see: the browser's ICE, DTLS, its host candidates. */
function plainRtp(sdp: string) {
  expect(sdp).toMatch(/m=audio [1-9]\d* RTP\/AVP /);
  expect(sdp).not.toMatch(/a=candidate|a=ice-|a=fingerprint|a=setup|SAVPF|a=rtcp-mux/);
  expect(sdp).toMatch(/c=IN IP4 127\.0\.0\.1/);
}

async function ready() {
  await agent.setState('ready');
}

async function farEndBye() {
  const bye = await carrier.inDialog('BYE');
  expect(bye.status, bye.startLine).toBe(200);
  await phone.page.waitForFunction(() => (window as any).koe.state === 'Terminated', undefined, { timeout: 5000 });
}

describe('offer/answer through rtpengine (issue 11 item 5)', () => {
  it('a delayed-offer INVITE from the trunk: the operator\'s offer reaches the carrier as plain RTP through rtpengine, the answer in the ACK, audio both ways; then a re-INVITE without SDP, a Require: timer, an UPDATE, G.729 and T.38 re-offers, a re-INVITE the carrier refuses: audio as before after each; the far end\'s BYE gets 200', async () => {
    await ready();
    const res = await carrier.invite({ did: f.did, sdp: null });
    expect(res.status, `${res.startLine}\n${f.logs()}`).toBe(200);
    plainRtp(res.body);
    carrier.startTone();
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 });
    // the page got the carrier's answer (ACK) as WebRTC through rtpengine
    const answerAtPage = await remoteSdp();
    expect(answerAtPage).toMatch(/RTP\/SAVPF/);
    expect(answerAtPage).toMatch(/a=fingerprint/);
    expect(answerAtPage).toMatch(/a=candidate/);
    await sleep(800);
    await audioBothWays('delayed-offer INVITE');

    // the carrier re-INVITEs without SDP: the phone's offer in the 200 (anchored, plain RTP), the answer in the ACK
    const re = await carrier.inDialog('INVITE', { sdp: null });
    expect(re.status, re.startLine).toBe(200);
    plainRtp(re.body);
    await sleep(300);
    expect((await koe()).reinvites.at(-1)).toEqual({ hadSdp: false, status: 200 });
    await audioBothWays('after a re-INVITE without SDP');

    // Require: timer in a re-INVITE: 420 Bad Extension from the phone, Unsupported: timer
    const timer = await carrier.inDialog('INVITE', { sdp: carrierSdp(carrier.rtpPort), extra: ['Require: timer', 'Session-Expires: 1800'] });
    expect(timer.status, timer.startLine).toBe(420);
    expect(hdr(timer, 'unsupported')).toBe('timer');
    await audioBothWays('after a re-INVITE with Require: timer (420)');

    // UPDATE with SDP: refused before rtpengine sees it (405 with Allow, no UPDATE listed)
    const upd = await carrier.inDialog('UPDATE', { sdp: carrierSdp(carrier.rtpPort) });
    expect(upd.status, upd.startLine).toBe(405);
    expect(hdr(upd, 'allow')).toMatch(/INVITE/);
    expect(hdr(upd, 'allow')).not.toMatch(/UPDATE/);
    await audioBothWays('after an UPDATE (405)');

    // re-offers Koe cannot take: G.729 only, T.38 only -> 488, the media stays
    for (const codecs of ['g729', 't38'] as const) {
      const bad = await carrier.inDialog('INVITE', { sdp: carrierSdp(carrier.rtpPort, codecs) });
      expect(bad.status, `${codecs}: ${bad.startLine}`).toBe(488);
      await audioBothWays(`after a ${codecs} re-INVITE (488)`);
    }

    // the operator's re-INVITE, refused by the carrier: the failure route keeps the media
    for (const status of [488, 500]) {
      carrier.answer = (req) => (req.method === 'INVITE' ? { status, reason: status === 488 ? 'Not Acceptable Here' : 'Server Error' } : { status: 200, reason: 'OK' });
      const code = await phone.page.evaluate(() => (window as any).reinvite());
      expect(code).toBe(status);
      await audioBothWays(`after the operator's re-INVITE refused ${status}`);
    }
    carrier.answer = (req) => (req.method === 'INVITE' ? { status: 200, reason: 'OK', sdp: carrierSdp(carrier.rtpPort) } : { status: 200, reason: 'OK' });
    // and accepted again: still both ways
    expect(await phone.page.evaluate(() => (window as any).reinvite())).toBe(200);
    await audioBothWays('after the operator\'s re-INVITE accepted');

    await farEndBye();
  });

  it('a delayed-offer INVITE from the operator: the carrier\'s offer in the 200 reaches the browser as WebRTC, the browser\'s answer reaches the carrier as plain RTP in the ACK; audio both ways; far-end BYE 200', async () => {
    carrier.received.length = 0;
    await phone.page.evaluate((uri) => (window as any).dial(uri, { withoutSdp: true }), `sip:+819088887777@${f.stack.sip.domain}`);
    const inv = await carrier.waitFor((m) => m.method === 'INVITE');
    expect(inv.body).toBe('');
    const ack = await carrier.waitFor((m) => m.method === 'ACK' && hdr(m, 'call-id') === hdr(inv, 'call-id'));
    plainRtp(ack.body);
    carrier.startTone();
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 });
    const offerAtPage = await remoteSdp();
    expect(offerAtPage).toMatch(/RTP\/SAVPF/);
    expect(offerAtPage).toMatch(/a=candidate/);
    await sleep(800);
    await audioBothWays('operator\'s delayed-offer INVITE');
    await farEndBye();
  });

  it('initial offers with only codecs Koe cannot take (G.729, T.38) are refused 488 before any operator is chosen; Require: timer is refused 420 by the phone', async () => {
    await ready();
    const before = (await koe()).invitedAt;
    for (const codecs of ['g729', 't38'] as const) {
      const res = await carrier.invite({ did: f.did, sdp: carrierSdp(carrier.rtpPort, codecs) });
      expect(res.status, `${codecs}: ${res.startLine}`).toBe(488);
      expect(hdr(res, 'warning')).toMatch(/304/);
    }
    // nobody rang and the gateway was not asked (the operator is still ready, no call rows)
    expect((await koe()).invitedAt).toBe(before);
    expect((await f.stack.gateway.ctx.agents.get(f.users.opA.id))?.state).toBe('ready');
    // G.729 offered beside PCMU: taken (PCMU)
    const mixed = await carrier.invite({ did: f.did, sdp: carrierSdp(carrier.rtpPort, 'pcmu+g729') });
    expect(mixed.status, mixed.startLine).toBe(200);
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 });
    await farEndBye();

    // Require: timer on an initial INVITE: the phone answers 420 with Unsupported: timer
    await ready();
    const timer = await carrier.invite({ did: f.did, extra: ['Require: timer', 'Session-Expires: 1800'] });
    expect(timer.status, timer.startLine).toBe(420);
    expect(hdr(timer, 'unsupported')).toBe('timer');
    expect((await koe()).refused.at(-1)).toMatchObject({ method: 'INVITE', status: 420 });
  });
});
