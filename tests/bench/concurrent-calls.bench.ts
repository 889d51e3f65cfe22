// Concurrent inbound calls (issue 15): 10 operators (SIP.js pages in Chromium that answer at
// once, each signed in with its own /ws and set ready) and baresip as the PSTN side dialling the
// campaign's DID 10 times at once, through the real Kamailio + rtpengine + gateway routing (and
// its card push). Per call: dial -> Established at the operator's page (the 200 OK/ACK: the
// call is set up); failures: a call no operator had set up within 15 s. Rounds: KOE_BENCH_ROUNDS
// (default 5), every operator ready again before each round.
import { randomUUID } from 'node:crypto';
import { startStack } from '../../deploy/stack';
import { createOrg, createUser } from '../../server/orgs';
import { Baresip } from '../integration/telephony/baresip';
import { SoftphonePage } from '../integration/telephony/softphone-page';
import type { Bench, Table } from './run';

const OPERATORS = Number(process.env.KOE_BENCH_OPERATORS ?? 10);
const ROUNDS = Number(process.env.KOE_BENCH_ROUNDS ?? 5);
const PASSWORD = 'Bench-Koe-2026!';
const CALLER = '+819012340008';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: Bench = async (log) => {
  const stack = await startStack({ gatewayConfig: { jwt: { secret: 'concurrent-bench-secret-0123456789-abcdef' }, authRateLimit: { capacity: 1e6, refillPerMinute: 1e6 } } });
  const ctx = stack.gateway.ctx;
  const db = ctx.db;
  // KOE_BENCH_NO_CARDS=1: routing pushes no card (the baseline the card push is compared with)
  if (process.env.KOE_BENCH_NO_CARDS === '1') ctx.cards.offered = async () => {};
  const orgId = await createOrg(ctx, 'ベンチ', { totpRequiredRoles: [], deviceBindingRoles: [], agents: { wrapUpSeconds: 0 } });
  const campaignId = randomUUID();
  const did = '+81312348888';
  const now = new Date();
  await db.insertInto('campaigns').values({ id: campaignId, org_id: orgId, name: '同時着信', time_zone: 'Asia/Tokyo', weekly_hours: '{}', closed_dates: '[]', dispositions: '["解決"]', blocked_numbers: '[]', created_at: now, updated_at: now }).execute();
  await db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignId }).execute();

  const first = await SoftphonePage.open();
  const context = await first.browser.newContext({ permissions: ['microphone'] });
  const { default: WebSocket } = await import('ws');
  const ops: { page: typeof first.page; ws: InstanceType<typeof WebSocket>; acks: string[]; cards: number; ready: boolean; version: number; offerable: boolean; wrapUp: string | null }[] = [];
  for (let i = 0; i < OPERATORS; i++) {
    const username = `bench-cc-${i}-${randomUUID().slice(0, 6)}`;
    const id = await createUser(ctx, { orgId, username, displayName: `同時 ${i}`, role: 'operator', password: PASSWORD });
    await db.insertInto('campaign_assignments').values({ user_id: id, campaign_id: campaignId, org_id: orgId }).execute();
    const signIn = (await (await fetch(`${stack.gatewayUrl}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) })).json()) as { tokens: { accessToken: string } };
    const token = signIn.tokens.accessToken;
    const creds = (await (await fetch(`${stack.gatewayUrl}/sip/credentials`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json()) as { aor: string; authorizationUsername: string; authorizationPassword: string };
    const page = i === 0 ? first.page : await context.newPage();
    if (i > 0) {
      await page.goto(`${first.origin}/`);
      await page.waitForFunction(() => typeof (window as any).startPhone === 'function');
    }
    await page.evaluate((cfg) => (window as any).startPhone(cfg), { aor: creds.aor, wsUrl: stack.sip.wsUrl, username: creds.authorizationUsername, password: creds.authorizationPassword, toneHz: 1000, expectHz: 440 });
    const ws = new WebSocket(`${stack.gatewayUrl.replace('http', 'ws')}/ws`);
    await new Promise((r) => ws.once('open', r));
    const op = { page, ws, acks: [] as string[], cards: 0, ready: false, version: -1, offerable: false, wrapUp: null as string | null };
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as { type: string; state?: string };
      if (msg.type === 'ready') op.ready = true;
      if (msg.type === 'agentState' && msg.state) op.acks.push(msg.state);
      if (msg.type === 'callCard') op.cards++;
      if (msg.type === 'operatorState') {
        const v = (msg as unknown as { view: { version: number; offerable: boolean; wrapUp: { callId: string } | null } }).view;
        if (v.version >= op.version) Object.assign(op, { version: v.version, offerable: v.offerable, wrapUp: v.wrapUp?.callId ?? null });
      }
    });
    ws.send(JSON.stringify({ type: 'auth', accessToken: token }));
    for (const t = Date.now(); !op.ready; await sleep(2)) if (Date.now() - t > 5000) throw new Error('no "ready" on /ws');
    ws.send(JSON.stringify({ type: 'operator', id: 'mic', intent: { kind: 'microphone', available: true } }));
    ops.push(op);
  }
  await sleep(500);
  log(`${OPERATORS} operators registered`);
  const pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });

  const setup: number[] = [];
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // every operator offerable as the gateway says (the last round's calls ended there, wrap-up
    // over, ready again), then OPERATORS calls at once
    for (const t = Date.now(); !ops.every((o) => o.offerable); await sleep(200)) {
      if (Date.now() - t > 20_000) throw new Error(`operators not offerable: ${ops.filter((o) => !o.offerable).length}`);
      for (const op of ops) {
        if (op.offerable) continue;
        if (op.wrapUp) op.ws.send(JSON.stringify({ type: 'operator', id: `w${Date.now()}`, intent: { kind: 'finishWrapUp', callId: op.wrapUp, next: 'ready' } }));
        else op.ws.send(JSON.stringify({ type: 'agentState', state: 'ready' }));
      }
    }
    const dialAt = Date.now();
    for (let i = 0; i < OPERATORS; i++) pstn.dial(`sip:${did}@${stack.sip.domain}`);
    const deadline = dialAt + 15_000;
    const established = await Promise.all(
      ops.map(async (op) => {
        try {
          await op.page.waitForFunction((t) => ((window as any).koe.establishedAt ?? 0) > t, dialAt, { timeout: Math.max(1, deadline - Date.now()) });
          return (await op.page.evaluate(() => (window as any).koe.establishedAt as number)) - dialAt;
        } catch {
          return null;
        }
      }),
    );
    for (const e of established) {
      if (e === null) failures++;
      else setup.push(e);
    }
    log(`round ${round + 1} / ${ROUNDS}: ${established.filter((e) => e !== null).length} / ${OPERATORS} set up`);
    if (established.some((e) => e === null)) {
      // what the PSTN side saw of the calls that were not set up, and where each operator stands
      const closed = pstn.events.filter((e) => (e as { type?: string }).type === 'CALL_CLOSED').slice(-OPERATORS).map((e) => (e as { param?: string }).param);
      const states = await Promise.all(ops.map((op) => op.page.evaluate(() => (window as any).koe.state as string)));
      log(`  not set up: baresip closed ${JSON.stringify(closed)}; operator pages ${JSON.stringify(states)}`);
    }
    pstn.events.length = 0;
    // the operators hang up; the next round after the BYEs
    for (const op of ops) await op.page.evaluate(() => (window as any).koe.session?.bye?.().catch(() => undefined));
    await sleep(1500);
  }
  const cards = ops.reduce((a, o) => a + o.cards, 0);
  for (const op of ops) op.ws.close();
  await pstn.stop();
  await first.close();
  await stack.stop();
  const tables: Table[] = [
    {
      title: `${OPERATORS} concurrent inbound calls to ${OPERATORS} operators, ${ROUNDS} rounds (baresip -> Kamailio -> gateway routing -> SIP.js)`,
      rows: [
        { measure: 'dial -> Established at the operator (setup)', n: setup.length, p50_ms: pct(setup, 50), p95_ms: pct(setup, 95), max_ms: Math.max(...setup) },
        { measure: 'failures (not set up within 15 s)', n: failures },
        { measure: 'cards pushed with the ring (callCard on the operators\' /ws)', n: cards },
      ],
    },
  ];
  return tables;
};

export default bench;
