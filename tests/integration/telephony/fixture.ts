// Shared set-up of the telephony tests: the whole stack (real Kamailio + rtpengine + the
// gateway), one org with operators, a team lead and a campaign with a DID.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { assertTelephonyPackages, startStack, stackLogs, logTail, type KamailioLimits, type Stack, type StackOptions } from '../../../deploy/stack';
import { createOrg, createUser } from '../../../server/orgs';

export const PASSWORD = 'Sakura-Koe-2026!';

export interface TelephonyFixture {
  stack: Stack;
  orgId: string;
  campaignId: string;
  did: string;
  users: Record<'opA' | 'opB' | 'opC' | 'lead' | 'admin', { id: string; username: string; sipUser: string }>;
  token(who: keyof TelephonyFixture['users']): Promise<string>;
  api(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }>;
  credentials(who: keyof TelephonyFixture['users']): Promise<any>;
  agent(who: keyof TelephonyFixture['users']): Promise<AgentWs>;
  logs(): string;
  close(): Promise<void>;
}

export class AgentWs {
  readonly messages: any[] = [];
  private waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      this.messages.push(m);
      const w = this.waiters.find((x) => x.match(m));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    });
  }
  wait(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`ws: timed out; got ${JSON.stringify(this.messages.slice(-5))}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }
  /** Like wait(), but an already received message counts too. */
  seen(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    const m = this.messages.find(match);
    return m ? Promise.resolve(m) : this.wait(match, timeoutMs);
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

export async function telephonyFixture(opts: { wrapUpSeconds?: number; sip?: { transferNumberPattern?: string }; limits?: KamailioLimits; routeUrl?: string; ha?: Pick<StackOptions, 'gateways' | 'kamailios' | 'postgresUrl'> } = {}): Promise<TelephonyFixture> {
  assertTelephonyPackages({ baresip: true, chromium: true });
  const stack = await startStack({
    gatewayConfig: { jwt: { secret: 'telephony-test-secret-0123456789-abcdef' }, authRateLimit: { capacity: 100_000, refillPerMinute: 100_000 }, ...(opts.sip ? { sip: opts.sip } : {}) },
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

  const api = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await fetch(`${stack.gatewayUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any };
  };
  const tokens = new Map<string, string>();
  const token = async (who: keyof typeof users) => {
    const cached = tokens.get(who);
    if (cached) return cached;
    const res = await api('POST', '/auth/sign-in', undefined, { username: users[who].username, password: PASSWORD });
    if (res.status !== 200) throw new Error(`sign-in ${who}: ${res.status} ${JSON.stringify(res.body)}`);
    tokens.set(who, res.body.tokens.accessToken);
    return res.body.tokens.accessToken as string;
  };
  const sockets: AgentWs[] = [];
  return {
    stack,
    orgId,
    campaignId,
    did,
    users,
    token,
    api,
    async credentials(who) {
      const res = await api('POST', '/sip/credentials', await token(who));
      if (res.status !== 200) throw new Error(`credentials ${who}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async agent(who) {
      const ws = new WebSocket(`${stack.gatewayUrl.replace('http', 'ws')}/ws`);
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      const a = new AgentWs(ws);
      const first = a.wait((m) => m.type === 'ready');
      ws.send(JSON.stringify({ type: 'auth', accessToken: await token(who) }));
      await first;
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
