// Two-way audio through rtpengine: baresip (the PSTN customer, plain RTP/PCMU, a 440 Hz
// tone) calls a DID; the operator's SIP.js page in Chromium (ICE + DTLS-SRTP, a 1000 Hz
// tone) answers. The page's FFT must hear 440 Hz; baresip's recording must contain 1000 Hz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav, toneShare } from '../../support/tone';
import { Baresip } from './baresip';
import { telephonyFixture, type TelephonyFixture } from './fixture';
import { SoftphonePage } from './softphone-page';

let f: TelephonyFixture;
let pstn: Baresip;
let phone: SoftphonePage;
const CUSTOMER_HZ = 440;
const OPERATOR_HZ = 1000;

beforeAll(async () => {
  f = await telephonyFixture();
  phone = await SoftphonePage.open();
  pstn = await Baresip.start({ trunk: f.stack.sip.trunk, proxy: f.stack.sip.udp, number: '+819011112222', toneHz: CUSTOMER_HZ });
});
afterAll(async () => {
  await pstn?.stop();
  await phone?.close();
  await f?.close();
});

describe('media through rtpengine (WebRTC <-> plain RTP)', () => {
  it('carries audio both ways between baresip and a Chromium SIP.js softphone', async () => {
    const c = await f.credentials('opA');
    await phone.page.evaluate((cfg) => (window as any).startPhone(cfg), {
      aor: c.aor, wsUrl: f.stack.sip.wsUrl, username: c.authorizationUsername, password: c.authorizationPassword, toneHz: OPERATOR_HZ, expectHz: CUSTOMER_HZ,
    });
    const agent = await f.agent('opA');
    await agent.setState('ready');

    const t0 = Date.now();
    pstn.dial(`sip:+81312340000@${f.stack.sip.domain}`.replace('+81312340000', f.did));
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Established', undefined, { timeout: 10_000 }).catch((e) => {
      throw new Error(`${e.message}\n${f.logs()}`);
    });
    await pstn.wait((e) => e.type === 'CALL_ESTABLISHED');
    const k = await phone.page.evaluate(() => {
      const o = (window as any).koe;
      return { invitedAt: o.invitedAt, establishedAt: o.establishedAt, headers: o.headers };
    });
    console.log(`baresip dial -> page onInvite ${k.invitedAt - t0} ms, -> page Established ${k.establishedAt - t0} ms`);
    expect(k.headers).toEqual({ campaign: f.campaignId, did: f.did, from: '+819011112222' });

    await new Promise((r) => setTimeout(r, 2500));
    const samples: { target: number; off: number }[] = await phone.page.evaluate(() => (window as any).koe.samples);
    pstn.hangup();
    await pstn.wait((e) => e.type === 'CALL_CLOSED');
    await phone.page.waitForFunction(() => (window as any).koe.state === 'Terminated', undefined, { timeout: 5000 });

    // the page heard the customer's tone: clearly above the noise floor and other frequencies
    const late = samples.slice(-10);
    const target = Math.max(...late.map((s) => s.target));
    const off = Math.max(...late.map((s) => s.off));
    console.log(`page FFT: ${CUSTOMER_HZ} Hz at ${target.toFixed(1)} dBFS, off-tone ${off.toFixed(1)} dBFS`);
    expect(target).toBeGreaterThan(-50);
    expect(target - off).toBeGreaterThan(20);

    // baresip recorded what it heard: the operator's tone
    await new Promise((r) => setTimeout(r, 300));
    const heard = pstn.recordings().filter((p) => /dec/.test(p));
    expect(heard.length, `recordings: ${pstn.recordings().join(', ')}`).toBeGreaterThan(0);
    const { rate, samples: pcm } = readWav(heard[0]!);
    const tail = pcm.slice(Math.floor(pcm.length / 3));
    const share = toneShare(tail, rate, OPERATOR_HZ);
    const wrong = toneShare(tail, rate, CUSTOMER_HZ);
    console.log(`baresip recording: ${(pcm.length / rate).toFixed(1)} s at ${rate} Hz; ${OPERATOR_HZ} Hz share ${share.toFixed(2)}, ${CUSTOMER_HZ} Hz share ${wrong.toFixed(3)}`);
    expect(share).toBeGreaterThan(0.3);
    expect(wrong).toBeLessThan(0.05);
    agent.close();
  });
});
