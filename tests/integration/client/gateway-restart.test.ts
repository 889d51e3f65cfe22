// Clients survive a gateway restart: main's gateway link (main/session/gateway-link.ts)
// against a real gateway that is stopped (its sockets close) and started again on the same
// port and database. The link reconnects (jittered, capped backoff), re-authenticates,
// re-sends what the gateway should know (SIP registration, microphone and lock facts), and the
// operator's state is re-read from the gateway that owns it; the status bar's events say
// "reconnecting…" then "back", in order.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePowerMonitor } from '../../../main/lock/idle-monitor';
import { createMainServices, wireEvents, type MainServices } from '../../../main/services';
import type { AgentSnapshot, LinkStatus } from '../../../shared/ipc/contract';
import { RECONNECT_BACKOFF } from '../../../shared/backoff';
import { memoryKeytar } from '../../support/memory-keytar';
import { startLoopbackGateway } from '../../support/gateway-harness';

let gw: Awaited<ReturnType<typeof startLoopbackGateway>>;
const dirs: string[] = [];
beforeAll(async () => {
  gw = await startLoopbackGateway({ deviceBindingRoles: [] });
});
afterAll(async () => {
  await gw?.close();
  dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

async function client(): Promise<MainServices> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-restart-'));
  dirs.push(userDataDir);
  return createMainServices({
    app: { getName: () => 'Koe', getVersion: () => '0.1.0', getLocale: () => 'ja-JP' },
    host: 'electron',
    platform: 'linux',
    userDataDir,
    managedPolicy: { gatewayUrl: gw.url },
    fetch: (url, init) => fetch(url, init),
    dropConnections: async () => undefined, // (no resume here)
    clock: { now: () => Date.now() },
    openExternal: async () => undefined,
    externalAllowlist: [],
    keytar: memoryKeytar(),
    power: new FakePowerMonitor(),
    deviceName: () => 'KOE-PC',
    // pinned jitter: the n-th wait is 0.1 of its ceiling (50 ms, 100 ms, 200 ms ...)
    random: () => 0.1,
  });
}

/** Resolves when `test` holds for the value `subscribe` reports (checked at once, then on every change). */
function when<T>(current: () => T, subscribe: (l: () => void) => () => void, test: (v: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    if (test(current())) return resolve(current());
    const off = subscribe(() => {
      if (test(current())) {
        off();
        resolve(current());
      }
    });
  });
}
/**
 * The running gateway's record of an operator's SIP registration (sip_registrations: its state and
 * the instance that holds the operator's socket), read again on every board event the bus carries
 * for that user (the event the gateway publishes when the registration changes).
 */
const registrationOf = async (userId: string) =>
  gw.gw.ctx.db.selectFrom('sip_registrations').select(['state', 'instance']).where('user_id', '=', userId).executeTakeFirst();
function registrationBecomes(userId: string, state: string): Promise<string> {
  const ctx = gw.gw.ctx;
  return new Promise((resolve, reject) => {
    const check = () =>
      registrationOf(userId).then((r) => {
        if (r?.state === state && r.instance === ctx.bus.origin) {
          off();
          resolve(r.state);
        }
      }, reject);
    const off = ctx.bus.subscribe('board', (e) => {
      if (e.userId === userId) void check();
    });
    void check();
  });
}
const linkPhase = (s: MainServices, phase: LinkStatus['phase']) => when(() => s.link.status(), (l) => s.link.onStatus(l), (st) => st.phase === phase);
const agentWhere = (s: MainServices, test: (a: AgentSnapshot) => boolean) => when(() => s.agent.snapshot(), (l) => s.agent.onChange(l), test);

describe('the gateway link across a gateway restart', () => {
  it('reconnects, resubscribes, keeps the operator’s state (re-read from the gateway) and says so in order', async () => {
    const user = await gw.addUser('operator', '佐藤 花子');
    const s = await client();
    const events: [string, unknown][] = [];
    wireEvents(s, (event, payload) => {
      if (event === 'link:status' || event === 'agent:changed') events.push([event, payload]);
    });
    const sent: string[] = [];
    const send = s.link.send.bind(s.link);
    s.link.send = (m) => {
      const ok = send(m);
      if (ok) sent.push(m.type === 'operator' ? `operator:${(m as unknown as { intent: { kind: string } }).intent.kind}` : m.type);
      return ok;
    };

    expect((await s.session.signIn(user)).outcome).toBe('signed-in');
    await linkPhase(s, 'connected');
    await agentWhere(s, (a) => a.view !== null && a.link === 'connected');
    // the operator is ready, the phone registered, the microphone there
    expect(await s.agent.intent({ kind: 'microphone', available: true })).toMatchObject({ outcome: 'accepted' });
    expect(await s.agent.intent({ kind: 'setAvailability', state: 'ready' })).toMatchObject({ outcome: 'accepted', view: { agent: 'ready' } });
    const reported = registrationBecomes(user.id, 'registered');
    expect(s.supervision.reportRegistration('registered')).toBe(true);
    await reported;
    const before = s.agent.snapshot().view!;
    expect(before.agent).toBe('ready');

    sent.length = 0;
    const statusFrom = events.length;
    let viewDuringOutage: AgentSnapshot | null = null;
    await gw.restart(async () => {
      // the gateway is down: the link says it is reconnecting, and intents are refused, not queued
      await linkPhase(s, 'reconnecting');
      viewDuringOutage = s.agent.snapshot();
      expect(await s.agent.intent({ kind: 'setAvailability', state: 'break' })).toEqual({ outcome: 'refused', refusal: 'unreachable' });
    });
    // a new gateway process: the stored registration is the old instance's until the link re-sends it
    expect((await registrationOf(user.id))?.instance).not.toBe(gw.gw.ctx.bus.origin);
    const reregistered = registrationBecomes(user.id, 'registered');
    await linkPhase(s, 'back');
    const after = await agentWhere(s, (a) => a.link === 'connected' && a.view !== null && a.view.version > before.version);

    // the status events, in order: reconnecting (attempt 1, 2, ... as the gateway stays down), then back
    const statuses = events.slice(statusFrom).filter(([e]) => e === 'link:status').map(([, p]) => p as LinkStatus);
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses.at(-1)).toEqual({ phase: 'back', attempt: 0, retryInMs: null });
    const reconnecting = statuses.slice(0, -1);
    expect(reconnecting.every((st) => st.phase === 'reconnecting')).toBe(true);
    expect(reconnecting.map((st) => st.attempt)).toEqual(reconnecting.map((_, i) => i + 1));
    // jittered and capped: 0.1 of 500 ms * 2^n, never above 30 s
    for (const st of reconnecting) expect(st.retryInMs).toBe(Math.round(0.1 * Math.min(RECONNECT_BACKOFF.capMs, RECONNECT_BACKOFF.baseMs * 2 ** (st.attempt - 1))));

    // while down the renderer was told the link is unreachable, with the last view the gateway sent
    expect(viewDuringOutage).toMatchObject({ link: 'unreachable', view: { agent: 'ready' } });
    // resubscribed: the facts and the registration re-sent on the new socket
    expect(sent).toEqual(expect.arrayContaining(['operator:microphone', 'operator:locked', 'registration']));
    expect(await reregistered).toBe('registered'); // the new gateway has it again
    // the operator kept their state, as the restarted gateway says (a newer view, pushed after "ready")
    expect(after.view).toMatchObject({ agent: 'ready', microphone: true, locked: false });
    expect(after.pending).toEqual([]);
    expect(s.session.current().status).toBe('signed-in');
    // and the link works: an intent is answered by the new gateway
    expect(await s.agent.intent({ kind: 'setAvailability', state: 'not_ready' })).toMatchObject({ outcome: 'accepted', view: { agent: 'not_ready' } });

    await s.session.signOut();
    expect(s.link.status()).toEqual({ phase: 'offline', attempt: 0, retryInMs: null });
  });
});
