// Queues across instances (issue 15 item 1, "no call left waiting forever"): two gateway
// instances on one PostgreSQL and two Kamailio nodes. Callers enter through node 1 (its own
// rtpengine and control address, 127.0.0.2); gateway 1 is SIGKILLed while they wait; gateway 0
// serves the queue from the database and continues the INVITEs held on node 1.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../support/pg-database';
import { Carrier } from './carrier';
import { telephonyFixture, type AgentWs, type TelephonyFixture } from './fixture';
import { hdr, rtpSdp, SipWsClient, type SipMessage } from './sip-ws';

let f: TelephonyFixture;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
let carrier: Carrier;
let ua: SipWsClient;
let agent: AgentWs;

beforeAll(async () => {
  const base = process.env.KOE_TEST_DATABASE_URL;
  if (!base) throw new Error('KOE_TEST_DATABASE_URL is not set: two gateway instances share one PostgreSQL (scripts/pg-throwaway.sh)');
  scratch = await createScratchDatabase(base, 'koe_qha', 2);
  f = await telephonyFixture({ wrapUpSeconds: 600, ha: { gateways: 2, kamailios: 2, postgresUrl: scratch.url } });
  const c = await f.credentials('opA');
  ua = await SipWsClient.connect(f.stack.nodes[1]!.sip.wssUrl, { user: f.users.opA.sipUser, domain: f.stack.sip.domain, auth: { username: c.authorizationUsername, password: c.authorizationPassword } });
  expect((await ua.register()).status).toBe(200);
  agent = await f.agent('opA'); // its /ws: gateway 0
  ua.onRequest = (m) => {
    if (m.method === 'INVITE') {
      ua.reply(m, 180, 'Ringing');
      ua.reply(m, 200, 'OK', { body: rtpSdp(44_100) });
      void agent.op({ kind: 'answered', callId: hdr(m, 'call-id') }).catch(() => undefined);
    } else if (m.method !== 'ACK') ua.reply(m, 200, 'OK');
  };
  carrier = await Carrier.start({ trunk: f.stack.sip.trunk, kamailio: f.stack.nodes[1]!.sip.udp, toneHz: 440 });
}, 120_000);
afterAll(async () => {
  carrier?.close();
  ua?.close();
  await f?.close();
  await scratch?.drop();
});

const provisional = (callId: string, status: number) => (m: SipMessage) => m.status === status && hdr(m, 'call-id') === callId;

describe('queues across gateway instances', () => {
  it('callers held on node 1 wait through a SIGKILLed gateway; the other instance connects them in order', async () => {
    expect((await agent.op({ kind: 'setAvailability', state: 'not_ready', reason: 'other' })).type).toBe('operatorState');
    const calls = [`${randomUUID()}@carrier`, `${randomUUID()}@carrier`];
    // one after the other (the first is held before the second is sent), so "the longest
    // waiting" is calls[0]; the second waits through the first call and its wrap-up
    const finals: Promise<SipMessage>[] = [];
    for (const [i, callId] of calls.entries()) {
      const p = carrier.invite({ did: f.did, from: `+81901111300${i}`, callId, finalTimeoutMs: 60_000 });
      p.catch(() => undefined);
      finals.push(p);
      await carrier.waitFor(provisional(callId, 183), 10_000);
    }
    const db = f.stack.gateway.ctx.db;
    const held = await db.selectFrom('call_queue').select(['sip_call_id', 'control', 'media_node', 'state']).where('sip_call_id', 'in', calls).execute();
    expect(held.map((r) => r.control)).toEqual([expect.stringMatching(/^127\.0\.0\.2:\d+$/), expect.stringMatching(/^127\.0\.0\.2:\d+$/)]);
    // gateway 1 dies (no shutdown at all) while both wait
    process.kill(f.stack.gateways[1]!.process!.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await agent.op({ kind: 'setAvailability', state: 'ready' })).type).toBe('operatorState');
    const first = await finals[0]!;
    expect(first.status).toBe(200);
    const inv = ua.received.filter((m) => m.method === 'INVITE');
    expect(hdr(inv[0]!, 'call-id')).toBe(calls[0]); // the longest waiting first
    await carrier.bye(calls[0]!);
    // after the first call: the operator finishes its wrap-up into ready, and the second caller is theirs
    let again = false;
    for (let i = 0; i < 50 && !again; i++) {
      const w = [...agent.messages].reverse().find((m) => m.type === 'operatorState');
      if (w?.view.wrapUp) again = (await agent.op({ kind: 'finishWrapUp', callId: w.view.wrapUp.callId, next: 'ready' })).type === 'operatorState';
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(again).toBe(true);
    const second = await finals[1]!;
    expect(second.status).toBe(200);
    await carrier.bye(calls[1]!);
    // (the operator's phone answers at once: its 200 can reach the trunk before the dispatching
    // instance has marked the entry connected, a moment after Kamailio took the connect)
    let rows = await db.selectFrom('call_queue').select(['sip_call_id', 'state']).where('sip_call_id', 'in', calls).execute();
    for (let i = 0; i < 100 && rows.some((r) => r.state === 'dispatching'); i++) {
      await new Promise((res) => setTimeout(res, 50));
      rows = await db.selectFrom('call_queue').select(['sip_call_id', 'state']).where('sip_call_id', 'in', calls).execute();
    }
    expect(rows.map((r) => r.state).sort()).toEqual(['connected', 'connected']);
  }, 90_000);
});
