// Shared set-up of the telephony tests: the whole stack (real Kamailio + rtpengine + the
// gateway), one org with operators, a team lead and a campaign with a DID.
import { randomUUID } from 'node:crypto';
import { assertTelephonyPackages, startStack, stackLogs, logTail, type KamailioLimits, type Stack, type StackOptions } from '../../../deploy/stack';
import type { GatewayConfigInput } from '../../../server/config';
import { createOrg, createUser } from '../../../server/orgs';
import { GatewayTestClient, type GatewayResponse } from '../../support/gateway-client';
import { GatewaySocket } from '../../support/ws-waiter';

export const PASSWORD = 'Sakura-Koe-2026!';

export interface TelephonyFixture {
  stack: Stack;
  orgId: string;
  campaignId: string;
  did: string;
  users: Record<'opA' | 'opB' | 'opC' | 'lead' | 'admin', { id: string; username: string; sipUser: string }>;
  token(who: keyof TelephonyFixture['users']): Promise<string>;
  /** The one gateway test client (tests/support/gateway-client.ts), over HTTP to the stack's gateway. */
  client: GatewayTestClient;
  api(method: string, path: string, token?: string, body?: unknown): Promise<GatewayResponse>;
  credentials(who: keyof TelephonyFixture['users']): Promise<any>;
  agent(who: keyof TelephonyFixture['users']): Promise<AgentWs>;
  logs(): string;
  close(): Promise<void>;
}

/** An operator's or lead's /ws: the one WebSocket waiter (tests/support/ws-waiter.ts) plus the operator's messages. */
export class AgentWs {
  constructor(readonly socket: GatewaySocket) {}
  get ws() {
    return this.socket.ws;
  }
  get messages(): any[] {
    return this.socket.messages;
  }
  /** A message that arrives after this call. */
  wait(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    return this.socket.wait(match, timeoutMs);
  }
  /** Like wait(), but an already received message counts too. */
  seen(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    return this.socket.seen(match, timeoutMs);
  }
  /** A ping answered: whatever the gateway sent on this socket before has arrived (absence checks). */
  sync(): Promise<number> {
    return this.socket.sync();
  }
  private seq = 0;
  /** An operator intent or phone fact (shared/gateway/operator.ts); resolves with its answer (operatorState or operatorRefused). */
  async op(intent: Record<string, unknown>): Promise<any> {
    const id = `t${++this.seq}`;
    const answer = this.wait((m) => (m.type === 'operatorState' || m.type === 'operatorRefused') && m.id === id);
    this.ws.send(JSON.stringify({ type: 'operator', id, intent }));
    return answer;
  }
  /** The legacy agentState message (an alias of setAvailability); resolves with the legacy agentState push. */
  async setState(state: string, reason?: string): Promise<any> {
    const ack = this.wait((m) => m.type === 'agentState' && m.state === state);
    this.ws.send(JSON.stringify({ type: 'agentState', state, ...(reason ? { reason } : {}) }));
    return ack;
  }
  close() {
    this.ws.close();
  }
}

export async function telephonyFixture(opts: { wrapUpSeconds?: number; sip?: { transferNumberPattern?: string }; limits?: KamailioLimits; routeUrl?: string; ha?: Pick<StackOptions, 'gateways' | 'kamailios' | 'postgresUrl' | 'gatewayProcesses'>; recordings?: GatewayConfigInput['recordings'] } = {}): Promise<TelephonyFixture> {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const stack = await startStack({
    gatewayConfig: { jwt: { secret: 'telephony-test-secret-0123456789-abcdef' }, authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, ...(opts.sip ? { sip: opts.sip } : {}), ...(opts.recordings ? { recordings: opts.recordings } : {}) },
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.routeUrl ? { routeUrl: opts.routeUrl } : {}),
    ...opts.ha,
  });
  const ctx = stack.gateway.ctx;
  const orgId = await createOrg(ctx, `電話テスト ${randomUUID().slice(0, 8)}`, {
    totpRequiredRoles: [],
    deviceBindingRoles: [],
    agents: { wrapUpSeconds: opts.wrapUpSeconds ?? 2 },
  });
  const hash = await ctx.hasher.hash(PASSWORD);
  const tag = randomUUID().slice(0, 6);
  const mk = async (role: string, name: string) => {
    const username = `${name}.${tag}`;
    const id = await createUser(ctx, { orgId, username, displayName: name, role, password: PASSWORD, passwordHash: hash });
    return { id, username, sipUser: username.toLowerCase() };
  };
  const users = {
    opA: await mk('operator', 'op-a'),
    opB: await mk('operator', 'op-b'),
    opC: await mk('operator', 'op-c'),
    lead: await mk('team_lead', 'lead'),
    admin: await mk('admin', 'admin'),
  };
  const campaignId = randomUUID();
  const did = `+8131234${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`;
  const now = new Date();
  await ctx.db
    .insertInto('campaigns')
    .values({
      id: campaignId, org_id: orgId, name: 'テスト窓口', time_zone: 'Asia/Tokyo', weekly_hours: JSON.stringify({}), closed_dates: '[]',
      dispositions: JSON.stringify(['解決']), blocked_numbers: '[]', created_at: now, updated_at: now,
    })
    .execute();
  await ctx.db.insertInto('campaign_dids').values({ org_id: orgId, e164: did, campaign_id: campaignId }).execute();
  // opA and opB take the campaign's calls; opC is not assigned
  await ctx.db.insertInto('campaign_assignments').values([users.opA, users.opB].map((u) => ({ user_id: u.id, campaign_id: campaignId, org_id: orgId }))).execute();
  const teamId = randomUUID();
  await ctx.db.insertInto('teams').values({ id: teamId, org_id: orgId, name: 'チーム' }).execute();
  await ctx.db
    .insertInto('team_members')
    .values([
      { team_id: teamId, user_id: users.lead.id, member_role: 'lead' },
      { team_id: teamId, user_id: users.opA.id, member_role: 'operator' },
      { team_id: teamId, user_id: users.opB.id, member_role: 'operator' },
    ])
    .execute();

  const client = GatewayTestClient.http(stack.gatewayUrl);
  const api = (method: string, path: string, token?: string, body?: unknown) => client.req(method, path, { token, ...(body !== undefined ? { body } : {}) });
  const token = (who: keyof typeof users) => client.token(users[who].username, PASSWORD);
  const sockets: AgentWs[] = [];
  return {
    stack,
    orgId,
    campaignId,
    did,
    users,
    token,
    client,
    api,
    async credentials(who) {
      const res = await api('POST', '/sip/credentials', await token(who));
      if (res.status !== 200) throw new Error(`credentials ${who}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async agent(who) {
      const a = new AgentWs(await GatewaySocket.open(stack.gatewayUrl, { token: await token(who), name: `ws ${who}` }));
      await a.seen((m) => m.type === 'operatorState'); // the starting view comes right after "ready"
      // the client's phone reports its microphone (the model refuses "ready" without one)
      const mic = await a.op({ kind: 'microphone', available: true });
      if (mic.type !== 'operatorState') throw new Error(`microphone report refused: ${JSON.stringify(mic)}`);
      sockets.push(a);
      return a;
    },
    logs() {
      const l = stackLogs(stack);
      return `--- kamailio.log\n${logTail(l.kamailio, 60)}\n--- rtpengine.log\n${logTail(l.rtpengine, 20)}`;
    },
    async close() {
      for (const s of sockets) s.close();
      await stack.stop();
    },
  };
}
