// Shared pieces of the softphone end-to-end tests and the softphone bench: an in-memory
// keytar, a sine "microphone" per page, operator sign-in through the real renderer, tone
// measurement on both sides (the page's AnalyserNode, baresip's WAV recordings).
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '../../deploy/stack';
import { logTail, stackLogs } from '../../deploy/stack';
import { randomUUID } from 'node:crypto';
import type { OrgPolicyPatch } from '../../shared/gateway/policy';
import type { GatewayContext } from '../../server/context';
import { createOrg, createUser } from '../../server/orgs';
import { readWav, toneDbfs } from '../support/tone';

import { startTestDevHost } from '../support/devhost-harness';
import { SINE_MICROPHONE } from '../support/sine-microphone';
import { memoryKeytar } from '../support/memory-keytar';

export { memoryKeytar };


/**
 * Replaces the microphone with a sine tone (what the far end hears is known) and keeps every
 * WebSocket the page opens in `window.__koeSockets` (the recovery test drops the SIP one) and
 * every RTCPeerConnection in `window.__koePcs` (the fault tests find a call's media ports).
 */
export const FAKE_MIC = (hz: number) => `
  (() => {
    window.__name = (f) => f;
${SINE_MICROPHONE(hz)}
    const Ws = window.WebSocket;
    window.__koeSockets = [];
    window.WebSocket = class extends Ws {
      constructor(...a) { super(...a); window.__koeSockets.push(this); }
    };
    const Pc = window.RTCPeerConnection;
    window.__koePcs = [];
    window.RTCPeerConnection = class extends Pc {
      constructor(...a) { super(...a); window.__koePcs.push(this); }
    };
  })();`;

export type OperatorKey = 'a' | 'b' | 'c';
export interface OperatorWorld {
  orgId: string;
  users: Record<OperatorKey, { id: string; username: string }>;
  campaignId: string;
  did: string;
}

/**
 * An org of three operators (op-a, op-b, op-c; password `password`) and one campaign with a
 * fresh DID (`didPrefix` + 4 random digits) that the `assigned` operators take.
 */
export async function threeOperatorWorld(
  ctx: GatewayContext,
  o: { orgName: string; agents: OrgPolicyPatch['agents']; campaignName: string; disposition: string; didPrefix: string; assigned: OperatorKey[]; password: string },
): Promise<OperatorWorld> {
  const orgId = await createOrg(ctx, `${o.orgName} ${randomUUID().slice(0, 8)}`, { totpRequiredRoles: [], deviceBindingRoles: [], agents: o.agents });
  const tag = randomUUID().slice(0, 6);
  const users = {} as OperatorWorld['users'];
  for (const k of ['a', 'b', 'c'] as const) {
    const username = `op-${k}.${tag}`;
    users[k] = { id: await createUser(ctx, { orgId, username, displayName: `op-${k}`, role: 'operator', password: o.password }), username };
  }
  const now = new Date();
  const campaignId = randomUUID();
  const did = `${o.didPrefix}${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  await ctx.db
    .insertInto('campaigns')
    .values({ id: campaignId, org_id: orgId, name: o.campaignName, time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: JSON.stringify([o.disposition]), blocked_numbers: '[]', created_at: now, updated_at: now })
    .execute();
  await ctx.db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignId }).execute();
  for (const k of o.assigned) await ctx.db.insertInto('campaign_assignments').values({ user_id: users[k].id, campaign_id: campaignId, org_id: orgId }).execute();
  return { orgId, users, campaignId, did };
}

export interface OperatorPage {
  page: Page;
  close(): Promise<void>;
}

/** The dev host (main's real services) + the built renderer in Chromium, signed in, READY. */
export async function operatorPage(
  browser: Browser,
  stack: Stack,
  o: { username: string; password: string; port: number; toneHz: number; ready?: boolean; /** Where this PC reaches them (a fault test's proxies); default the stack's. */ urls?: { gatewayUrl: string; sipWssUrl: string } },
): Promise<OperatorPage> {
  const host = await startTestDevHost({
    port: o.port,
    managedPolicy: o.urls ?? { gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl },
    keytar: memoryKeytar(),
    deviceName: `PC-${o.username}`,
  });
  const ctx = await browser.newContext({ permissions: ['microphone', 'notifications'] });
  try {
    await ctx.addInitScript(FAKE_MIC(o.toneHz));
    const page = await ctx.newPage();
    await page.goto(host.pageUrl());
    await page.getByLabel('ユーザー名').fill(o.username);
    await page.getByLabel('パスワード').fill(o.password);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await page.getByTestId('phone-panel').waitFor();
    await page.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 }).catch((e) => {
      throw new Error(`${(e as Error).message}\n${logTail(stackLogs(stack).kamailio, 40)}`);
    });
    if (o.ready !== false) await setReady(page);
    return {
      page,
      close: async () => {
        await ctx.close().catch(() => undefined);
        await host.close().catch(() => undefined);
      },
    };
  } catch (e) {
    await ctx.close().catch(() => undefined);
    await host.close().catch(() => undefined);
    throw e;
  }
}

export async function setReady(page: Page): Promise<void> {
  await page.getByTestId('agent-ready').click();
  await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
}

/** Ends wrap-up the way an operator does: a disposition when the campaign has any, then "finish". */
export async function finishWrapUp(page: Page): Promise<void> {
  await page.getByTestId('wrapup').waitFor({ timeout: 5000 });
  const options = await page.locator('[data-testid="disposition"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
  if (options.length) await page.getByTestId('disposition').selectOption(options[0]!);
  await page.getByTestId('finish-wrapup').click();
  await page.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
}

/** Level (dBFS) of `hz` in what the page plays for its established call(s), via an AnalyserNode FFT. */
export function remoteToneLevel(page: Page, hz: number, callId?: string): Promise<{ target: number; off: number }> {
  return page.evaluate(
    async ({ hz, callId }) => {
      const sel = callId ? `audio[data-testid="call-audio"][data-call-id="${callId}"]` : 'audio[data-testid="call-audio"]';
      const audio = document.querySelector(sel) as HTMLAudioElement | null;
      if (!audio?.srcObject) return { target: -999, off: -999 };
      const ctx = new AudioContext();
      await ctx.resume();
      const an = ctx.createAnalyser();
      an.fftSize = 4096;
      ctx.createMediaStreamSource(audio.srcObject as MediaStream).connect(an);
      const bins = new Float32Array(an.frequencyBinCount);
      const step = ctx.sampleRate / an.fftSize;
      let target = -999;
      let off = -999;
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        an.getFloatFrequencyData(bins);
        const at = (f: number) => Math.max(bins[Math.round(f / step) - 1]!, bins[Math.round(f / step)]!, bins[Math.round(f / step) + 1]!);
        target = Math.max(target, at(hz));
        off = Math.max(off, at(hz * 1.37));
      }
      await ctx.close();
      return { target, off };
    },
    { hz, callId },
  );
}

/** `hz`'s level per 100 ms window of a baresip recording. */
export function toneTimeline(file: string, hz: number, windowMs = 100): number[] {
  const { rate, samples } = readWav(file);
  const step = Math.floor((rate * windowMs) / 1000);
  const out: number[] = [];
  for (let i = 0; i + step <= samples.length; i += step) out.push(toneDbfs(samples.subarray(i, i + step), rate, hz));
  return out;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

/** The mark times (ms, page clock) the renderer leaves for a call's INVITE and card paint. */
export function popMarks(page: Page): Promise<{ origin: number; invite: number | null; card: number | null; ringing: number | null }> {
  return page.evaluate(() => {
    const m = (p: string) => performance.getEntriesByType('mark').find((e) => e.name.startsWith(p))?.startTime ?? null;
    return { origin: performance.timeOrigin, invite: m('koe:invite:'), card: m('koe:card-painted:'), ringing: m('koe:ringing-painted:') };
  });
}

/** A tone this loud (dBFS at its FFT bin) is "heard"; silence sits below -90. */
export const HEARD_DB = -50;

/**
 * Starts logging, every 50 ms, the level of `hz` in the call's audio (window.__tone =
 * [[Date.now(), dB], ...]) and the audio RTP packets received so far (window.__rtp =
 * [[Date.now(), packets], ...], from the live RTCPeerConnection's inbound-rtp stats): what the
 * operator hears, and what the network delivers (loss concealment makes the two differ).
 */
export async function startToneLog(page: Page, hz: number): Promise<void> {
  await page.evaluate(async (hz) => {
    const w = window as unknown as { __tone: [number, number][]; __rtp: [number, number][]; __toneStop?: () => void; __koePcs: RTCPeerConnection[] };
    w.__toneStop?.();
    const audio = document.querySelector('audio[data-testid="call-audio"]') as HTMLAudioElement | null;
    if (!audio?.srcObject) throw new Error('no call audio to listen to');
    const ctx = new AudioContext();
    await ctx.resume();
    const an = ctx.createAnalyser();
    an.fftSize = 2048;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(audio.srcObject as MediaStream).connect(an);
    const bins = new Float32Array(an.frequencyBinCount);
    const i = Math.round(hz / (ctx.sampleRate / an.fftSize));
    w.__tone = [];
    w.__rtp = [];
    const timer = setInterval(() => {
      an.getFloatFrequencyData(bins);
      w.__tone.push([Date.now(), Math.max(bins[i - 1]!, bins[i]!, bins[i + 1]!)]);
      const pc = w.__koePcs.filter((p) => p.connectionState !== 'closed').at(-1);
      const at = Date.now();
      void pc?.getStats().then((stats) => {
        let packets = 0;
        stats.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
          if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
        });
        w.__rtp.push([at, packets]);
      });
    }, 50);
    w.__toneStop = () => {
      clearInterval(timer);
      void ctx.close();
    };
  }, hz);
}

/** The RTP log so far (startToneLog). */
export const rtpLog = (page: Page) => page.evaluate(() => (window as unknown as { __rtp: [number, number][] }).__rtp);

/**
 * After a change at `t0`: when audio packets arrive again once they had stopped for at least
 * `stallMs` (Chromium caches its stats for about 50 ms, so two samples in a row may show no new
 * packet while they flow). `stalled` false: they never stopped.
 */
export function rtpBackAt(log: [number, number][], t0: number, stallMs = 150): { stalled: boolean; back: number | null } {
  const samples = [...log].sort((a, b) => a[0] - b[0]);
  let lastGrowth = -Infinity;
  let stalled = false;
  for (let k = 1; k < samples.length; k++) {
    const [at, packets] = samples[k]!;
    if (packets > samples[k - 1]![1]) {
      if (stalled) return { stalled, back: at };
      lastGrowth = at;
    } else if (at >= t0 && at - Math.max(lastGrowth, t0 - 50) >= stallMs) stalled = true;
  }
  return { stalled, back: null };
}

/** The tone log so far (startToneLog). */
export const toneLog = (page: Page) => page.evaluate(() => (window as unknown as { __tone: [number, number][] }).__tone);

/** When the tone is heard again (3 samples in a row) at or after `t0`, or null. */
export function heardAgainAt(log: [number, number][], t0: number): number | null {
  for (let k = 0; k + 2 < log.length; k++) {
    if (log[k]![0] >= t0 && log[k]![1] > HEARD_DB && log[k + 1]![1] > HEARD_DB && log[k + 2]![1] > HEARD_DB) return log[k]![0];
  }
  return null;
}

/** The longest stretch (ms) between `from` and `to` in which the tone was not heard. */
export function longestSilence(log: [number, number][], from: number, to: number): number {
  let longest = 0;
  let start: number | null = null;
  for (const [at, db] of log.filter(([at]) => at >= from && at <= to)) {
    if (db <= HEARD_DB && start === null) start = at;
    if (db > HEARD_DB && start !== null) {
      longest = Math.max(longest, at - start);
      start = null;
    }
  }
  if (start !== null) longest = Math.max(longest, to - start);
  return longest;
}

/** The live call's media ports: rtpengine's (remote, first) and Chromium's (its UDP candidates). */
export async function mediaPorts(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __koePcs: RTCPeerConnection[] }).__koePcs.filter((pc) => pc.connectionState !== 'closed');
    const pc = pcs.at(-1);
    if (!pc) throw new Error('no live RTCPeerConnection');
    const stats = await pc.getStats();
    const ports: number[] = [];
    let pairId: string | undefined;
    stats.forEach((r: { type: string; selectedCandidatePairId?: string; port?: number; protocol?: string }) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
      if (r.type === 'local-candidate' && r.protocol === 'udp' && r.port) ports.push(r.port);
    });
    const pair = pairId ? (stats.get(pairId) as { remoteCandidateId: string } | undefined) : undefined;
    const remote = pair ? (stats.get(pair.remoteCandidateId) as { port?: number } | undefined) : undefined;
    if (!remote?.port) throw new Error('no selected candidate pair');
    return [remote.port, ...ports];
  });
}
