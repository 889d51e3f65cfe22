// Shared by the supervision e2e test and bench: the stack, an org with a team (lead + operator),
// a second team's lead, a campaign with a DID and a customer; operator and lead pages (dev
// host + Chromium) with sine-tone microphones; baresip as the customer; FFT helpers.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { assertTelephonyPackages, freePort, logTail, stackLogs, startStack, type Stack } from '../../deploy/stack';
import { createOrg, createUser } from '../../server/orgs';
import { Baresip } from '../integration/telephony/baresip';
import { launchChromium, startTestDevHost } from '../support/devhost-harness';
import { GatewayTestClient } from '../support/gateway-client';
import { SINE_MICROPHONE } from '../support/sine-microphone';
import { memoryKeytar } from '../support/memory-keytar';


export const PASSWORD = 'Sakura-Koe-2026!';
export const CUSTOMER_HZ = 440;
export const OPERATOR_HZ = 1000;
export const LEAD_HZ = 2500;
export const CALLER = '+819011113333';


/** Test instrumentation: the microphone is a sine tone; every RTCPeerConnection and SIP WebSocket message is counted. */
const INSTRUMENT = (hz: number) => `
  (() => {
    // tsx (the bench runner) keeps function names with an esbuild helper the page lacks
    window.__name = window.__name || ((f) => f);
${SINE_MICROPHONE(hz)}
    window.__koeTest = { pcs: [], sipIn: 0, sipOut: 0 };
    const RealPC = window.RTCPeerConnection;
    window.RTCPeerConnection = function (...a) { const pc = new RealPC(...a); window.__koeTest.pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = RealPC.prototype;
    const RealWS = window.WebSocket;
    window.WebSocket = function (url, protocols) {
      const ws = new RealWS(url, protocols);
      if (String(protocols).includes('sip')) {
        ws.addEventListener('message', () => window.__koeTest.sipIn++);
        const send = ws.send.bind(ws);
        ws.send = (d) => { window.__koeTest.sipOut++; return send(d); };
      }
      return ws;
    };
    Object.assign(window.WebSocket, RealWS);
    window.WebSocket.prototype = RealWS.prototype;
  })();`;

export interface SupervisionWorld {
  stack: Stack;
  browser: Browser;
  pstn: Baresip;
  did: string;
  orgId: string;
  users: Record<'op' | 'lead' | 'lead2' | 'op2', { id: string; username: string }>;
  op: Page;
  lead: Page;
  api(method: string, path: string, who: 'lead2' | 'lead', body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
  /** The recorder's directory and key (the gateway's recordings config). */
  recordings: { dir: string; keks: { id: string; key: string }[] };
}

export async function supervisionWorld(): Promise<SupervisionWorld> {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const ports = [await freePort('tcp'), await freePort('tcp')];
  const hosts: { close(): Promise<void> }[] = [];
  // the recorder is configured (a campaign records only when its mode says so: the outbound case)
  const recordings = { dir: mkdtempSync(join(tmpdir(), 'koe-sup-rec-')), keks: [{ id: 'k1', key: randomBytes(32).toString('base64') }] };
  const stack = await startStack({
    gatewayConfig: {
      recordings,
      jwt: { secret: 'supervision-e2e-secret-0123456789-abcdef' },
      authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 },
      corsOrigins: ports.map((p) => `http://127.0.0.1:${p}`),
    },
  });
  let browser: Browser | null = null;
  let pstn: Baresip | null = null;
  const close = async () => {
    await pstn?.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    for (const h of hosts) await h.close().catch(() => undefined);
    await stack.stop();
    rmSync(recordings.dir, { recursive: true, force: true });
  };
  try {
    const ctx = stack.gateway.ctx;
    const orgId = await createOrg(ctx, `監督 ${randomUUID().slice(0, 8)}`, {
      totpRequiredRoles: [],
      deviceBindingRoles: [],
      agents: { wrapUpSeconds: 600 },
    });
    const tag = randomUUID().slice(0, 6);
    const users = {} as SupervisionWorld['users'];
    for (const [key, role] of [['op', 'operator'], ['op2', 'operator'], ['lead', 'team_lead'], ['lead2', 'team_lead']] as const) {
      const username = `${key}.${tag}`;
      users[key] = { id: await createUser(ctx, { orgId, username, displayName: `${key} 表示名`, role, password: PASSWORD }), username };
    }
    const [team1, team2] = [randomUUID(), randomUUID()];
    await ctx.db.insertInto('teams').values([{ id: team1, org_id: orgId, name: 'A班' }, { id: team2, org_id: orgId, name: 'B班' }]).execute();
    await ctx.db.insertInto('team_members').values([
      { team_id: team1, user_id: users.lead.id, member_role: 'lead' },
      { team_id: team1, user_id: users.op.id, member_role: 'operator' },
      { team_id: team2, user_id: users.lead2.id, member_role: 'lead' },
      { team_id: team2, user_id: users.op2.id, member_role: 'operator' },
    ]).execute();
    const now = new Date();
    const campaignId = randomUUID();
    const did = `+8131235${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
    await ctx.db
      .insertInto('campaigns')
      .values({ id: campaignId, org_id: orgId, name: '料金窓口', time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]', dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now })
      .execute();
    await ctx.db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignId }).execute();
    await ctx.db.insertInto('campaign_assignments').values([{ user_id: users.op.id, campaign_id: campaignId, org_id: orgId }]).execute();
    const customerId = randomUUID();
    await ctx.db
      .insertInto('customers')
      .values({ id: customerId, org_id: orgId, campaign_id: campaignId, name_kanji: '鈴木 花子', name_kana: 'スズキ ハナコ', name_kanji_key: '鈴木花子', name_kana_key: 'スズキハナコ', email: null, fields: JSON.stringify({}), created_at: now, updated_at: now })
      .execute();
    await ctx.db.insertInto('customer_phones').values({ customer_id: customerId, e164: CALLER, campaign_id: campaignId, org_id: orgId }).execute();

    browser = await launchChromium();
    const page = async (who: 'op' | 'lead', port: number, hz: number) => {
      const host = await startTestDevHost({ port, managedPolicy: { gatewayUrl: stack.gatewayUrl, sipWssUrl: stack.sip.wsUrl }, keytar: memoryKeytar(), deviceName: `PC-${who}` });
      hosts.push(host);
      const c = await browser!.newContext({ permissions: ['microphone', 'notifications'] });
      await c.addInitScript(INSTRUMENT(hz));
      const p = await c.newPage();
      await p.goto(host.pageUrl());
      await p.getByLabel('ユーザー名').fill(users[who].username);
      await p.getByLabel('パスワード').fill(PASSWORD);
      await p.getByRole('button', { name: 'サインイン' }).click();
      await p.getByTestId('phone-panel').waitFor();
      await p.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 }).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${logTail(stackLogs(stack).kamailio, 40)}`);
      });
      return p;
    };
    const op = await page('op', ports[0]!, OPERATOR_HZ);
    await op.getByTestId('agent-ready').click();
    await op.locator('[data-testid="agent-state"][data-state="ready"][data-confirmed="true"]').waitFor();
    const lead = await page('lead', ports[1]!, LEAD_HZ);
    await lead.getByTestId('lead-board').waitFor();
    pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: CUSTOMER_HZ });
    const client = GatewayTestClient.http(stack.gatewayUrl);
    const api = async (method: string, path: string, who: 'lead' | 'lead2', body?: unknown) =>
      client.req(method, path, { token: await client.token(users[who].username, PASSWORD), ...(body ? { body } : {}) });
    return { stack, browser, pstn, did, orgId, users, op, lead, api, close, recordings };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Peak level (dBFS) of each frequency in what the page's audio elements matching `selector` play, over `ms`. */
export function levels(page: Page, selector: string, freqs: number[], ms = 1200): Promise<number[]> {
  return page.evaluate(
    async ({ selector, freqs, ms }) => {
      const els = [...document.querySelectorAll(selector)] as HTMLAudioElement[];
      if (els.length === 0) return freqs.map(() => -999);
      const ctx = new AudioContext();
      await ctx.resume();
      const an = ctx.createAnalyser();
      an.fftSize = 4096;
      for (const el of els) if (el.srcObject) ctx.createMediaStreamSource(el.srcObject as MediaStream).connect(an);
      const bins = new Float32Array(an.frequencyBinCount);
      const step = ctx.sampleRate / an.fftSize;
      const out = freqs.map(() => -999);
      for (let t = 0; t < ms; t += 100) {
        await new Promise((r) => setTimeout(r, 100));
        an.getFloatFrequencyData(bins);
        freqs.forEach((f, i) => {
          const k = Math.round(f / step);
          out[i] = Math.max(out[i]!, bins[k - 1]!, bins[k]!, bins[k + 1]!);
        });
      }
      await ctx.close();
      return out;
    },
    { selector, freqs, ms },
  );
}

/**
 * Clicks the lead's monitor button and measures, in the page, the time until both parties'
 * tones are heard (each above -60 dBFS) on the supervision audio.
 */
export function clickAndHearBoth(page: Page, buttonTestId: string, freqs: [number, number], timeoutMs = 5000): Promise<number> {
  return page.evaluate(
    async ({ id, freqs, timeoutMs }) => {
      const ctx = new AudioContext();
      await ctx.resume();
      const an = ctx.createAnalyser();
      an.fftSize = 2048;
      an.smoothingTimeConstant = 0;
      const bins = new Float32Array(an.frequencyBinCount);
      const step = ctx.sampleRate / an.fftSize;
      const seen = new Set<Element>();
      (document.querySelector(`[data-testid="${id}"]`) as HTMLButtonElement).click();
      const t0 = performance.now();
      try {
        while (performance.now() - t0 < timeoutMs) {
          for (const el of document.querySelectorAll('audio[data-testid="supervision-audio"]')) {
            const a = el as HTMLAudioElement;
            if (!seen.has(a) && a.srcObject) {
              seen.add(a);
              ctx.createMediaStreamSource(a.srcObject as MediaStream).connect(an);
            }
          }
          an.getFloatFrequencyData(bins);
          const at = (f: number) => Math.max(bins[Math.round(f / step) - 1]!, bins[Math.round(f / step)]!, bins[Math.round(f / step) + 1]!);
          if (at(freqs[0]) > -60 && at(freqs[1]) > -60) return performance.now() - t0;
          await new Promise((r) => setTimeout(r, 5));
        }
        return -1;
      } finally {
        await ctx.close();
      }
    },
    { id: buttonTestId, freqs, timeoutMs },
  );
}

