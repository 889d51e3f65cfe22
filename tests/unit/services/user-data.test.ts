// Main's per-user state ends with the session: sign-out, expiry and revoke (as the gateway
// answers a refresh), and another user signing in over a live session all pass through the
// session service's one clearing step (session.holdsUserData). Nothing of user A is left
// anywhere in main's services afterwards, and work in flight for A cannot bring it back.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICES_WITHOUT_USER_DATA, type MainServices } from '../../../main/services';
import { GatewayCallError } from '../../../shared/gateway-client';
import { memoryKeytar } from '../../support/memory-keytar';
import { makeServices, type TestServices } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Who {
  id: string;
  username: string;
  displayName: string;
  access: string;
  refresh: string;
  sipPassword: string;
  boardCustomer: string;
}
const A: Who = {
  id: '33333333-3333-4333-8333-333333333333',
  username: 'lead-a',
  displayName: '佐藤 花子',
  access: 'access-token-of-user-a-0123456789',
  refresh: 'refresh-token-of-user-a-0123456789',
  sipPassword: 'sip-password-of-user-a',
  boardCustomer: '佐々木 一郎',
};
const B: Who = {
  id: '88888888-8888-4888-8888-888888888888',
  username: 'op-b',
  displayName: '鈴木 次郎',
  access: 'access-token-of-user-b-9876543210',
  refresh: 'refresh-token-of-user-b-9876543210',
  sipPassword: 'sip-password-of-user-b',
  boardCustomer: '田中 三郎',
};
const secretsOf = (w: Who) => [w.id, w.username, w.displayName, w.access, w.refresh, w.sipPassword, w.boardCustomer];

type Call = (name: string, input?: { body?: Record<string, unknown>; accessToken?: string }) => Promise<unknown>;

/** Main's real services with a scripted gateway (the GatewayClient's `call` replaced) and an in-memory keychain. */
async function services() {
  const keychain = new Map<string, string>();
  const keytar = memoryKeytar();
  const watched = {
    ...keytar,
    setPassword: async (s: string, a: string, p: string) => (keychain.set(a, p), keytar.setPassword(s, a, p)),
    deletePassword: async (s: string, a: string) => (keychain.delete(a), keytar.deletePassword(s, a)),
  };
  // port 9 (discard): the gateway link's WebSocket is refused at once, it never reaches anything
  const s = await makeServices({ keytar: watched, managedPolicy: { gatewayUrl: 'http://127.0.0.1:9' } });
  dirs.push(s.userDataDir);
  let who: Who = A;
  const script: { refresh?: () => Promise<unknown>; sip?: () => Promise<unknown>; signOut?: () => Promise<unknown> } = {};
  const call: Call = async (name, input) => {
    const expiresAt = new Date(s.clock.now() + 15 * 60_000).toISOString();
    const tokens = (w: Who) => ({ accessToken: w.access, accessTokenExpiresAt: expiresAt, refreshToken: w.refresh, absoluteExpiresAt: expiresAt });
    switch (name) {
      case 'challenge':
        return { challenge: 'c'.repeat(43), expiresAt };
      case 'signIn':
        who = input?.body?.username === B.username ? B : A;
        return {
          tokens: tokens(who),
          user: { id: who.id, username: who.username, displayName: who.displayName, role: 'team_lead', permissions: ['calls:handle', 'team:supervise'] },
          device: null,
          totpEnrolmentRequired: false,
          passwordChangeRequired: false,
          recoveryCodeUsed: false,
          newDevices: [],
        };
      case 'refresh':
        return script.refresh ? script.refresh() : { tokens: tokens(who) };
      case 'clientPolicy':
        return { idleTimeoutSeconds: 60, contentProtection: true, blurOnFocusLoss: true };
      case 'sipCredentials':
        if (script.sip) return script.sip();
        return { authorizationUsername: `9999999999:${who.username}`, authorizationPassword: who.sipPassword, aor: `sip:${who.username}@koe.local`, expiresAt: expiresAt, wsServers: ['wss://127.0.0.1:9/ws'] };
      case 'signOut':
        if (script.signOut) return script.signOut();
        return { ok: true };
      case 'lockEvent':
        return { ok: true };
      default:
        throw new Error(`unscripted gateway call ${name}`);
    }
  };
  (s.gateway as unknown as { call: Call }).call = call;
  return { s, keychain, script };
}

/** Signs A in and fills every per-user holder in main: tokens, SIP credentials, agent state, the lead's board, the org's policy. */
async function signInAndPopulate(s: TestServices, w: Who = A) {
  const out = await s.session.signIn({ username: w.username, password: 'pw-pw-pw-pw' });
  expect(out.outcome).toBe('signed-in');
  await new Promise((r) => setTimeout(r, 0)); // the org's policy (onChange awaits it)
  expect((await s.sip.get())?.authorizationPassword).toBe(w.sipPassword);
  s.agent.fromGateway({ type: 'operatorState', view: {
      version: 7, agent: 'on_call', reason: null, reasonCode: null, since: s.clock.now(), locked: false, microphone: true, offerable: false,
      calls: [{ callId: 'a-call-1@test', direction: 'inbound', state: 'answered', cause: null, consultFor: null, wrapUp: null }],
      wrapUp: null,
    } });
  void s.agent.intent({ kind: 'microphone', available: true });
  expect(s.agent.holdsAnything()).toBe(true);
  s.supervision.watchBoard();
  s.supervision.fromGateway({
    type: 'board',
    operators: [
      {
        userId: '77777777-7777-4777-8777-777777777777',
        username: 'op-9',
        displayName: '高橋 美咲',
        teamIds: [],
        state: 'on_call',
        reason: null,
        since: null,
        registration: 'registered',
        call: { callId: 'c-1@test', campaignId: null, campaignName: null, direction: 'inbound', status: 'answered', since: new Date(s.clock.now()).toISOString(), customerName: w.boardCustomer },
      },
    ],
  } as never);
  expect(s.policy.effective().policy.idleTimeoutSeconds).toBe(60);
  // the walk below really sees main's per-user state (else "nothing left" would prove nothing)
  const held = reachableStrings({ ...s, deps: undefined }).join('\n');
  for (const secret of [w.access, w.sipPassword, w.boardCustomer, w.username, w.id]) expect(held).toContain(secret);
}

/** Every string reachable from main's services (own fields, Maps, Sets, arrays), functions and Node handles aside. */
function reachableStrings(root: unknown): string[] {
  const seen = new Set<unknown>();
  const out: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (typeof v === 'string') return void out.push(v);
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 12) return;
    seen.add(v);
    const name = (v as object).constructor?.name ?? '';
    if (['WebSocket', 'Timeout', 'Socket', 'ClientRequest', 'EventEmitter'].includes(name)) return;
    if (v instanceof Map) for (const [k, x] of v) (walk(k, depth + 1), walk(x, depth + 1));
    else if (v instanceof Set) for (const x of v) walk(x, depth + 1);
    else for (const x of Object.values(v as object)) walk(x, depth + 1);
  };
  walk(root, 0);
  return out;
}

function expectNothingOf(s: MainServices, keychain: Map<string, string>, w: Who) {
  const strings = reachableStrings({ ...s, deps: undefined }).join('\n') + [...keychain.values()].join('\n');
  for (const secret of secretsOf(w)) expect(strings, `main still holds "${secret}"`).not.toContain(secret);
}

function expectSignedOutState(s: MainServices) {
  expect(s.agent.snapshot()).toEqual({ view: null, link: 'offline', pending: [] });
  expect(s.agent.holdsAnything()).toBe(false);
  expect(s.supervision.watchBoard()).toEqual({ operators: [], updatedAt: null });
  expect(s.policy.effective().policy.idleTimeoutSeconds).not.toBe(60);
  expect(s.link.readyState).toBe('closed');
}

describe("main's per-user state (session.holdsUserData)", () => {
  it('every service either registers its user data with the session or is declared to hold none', async () => {
    const { s } = await services();
    const registered = s.session.userDataHolders();
    const declared = new Set<string>(SERVICES_WITHOUT_USER_DATA);
    const unclassified = Object.keys(s).filter((k) => !registered.includes(k) && !declared.has(k) && !['opened', 'clock', 'userDataDir'].includes(k));
    expect(unclassified, 'a service holding user data must call session.holdsUserData()').toEqual([]);
    expect(registered).toEqual(expect.arrayContaining(['session', 'sip', 'agent', 'supervision', 'link', 'policy']));
  });

  it.each([
    ['sign-out', async (s: MainServices) => void (await s.session.signOut()), 'signed-out'],
    [
      'expiry (the gateway refuses the refresh)',
      async (s: MainServices, script: { refresh?: () => Promise<unknown> }) => {
        script.refresh = async () => {
          throw new GatewayCallError('session_expired', 'expired', 401);
        };
        await s.session.refresh();
      },
      'expired',
    ],
    [
      "an admin's revoke (the gateway refuses the refresh)",
      async (s: MainServices, script: { refresh?: () => Promise<unknown> }) => {
        script.refresh = async () => {
          throw new GatewayCallError('session_revoked', 'revoked', 401);
        };
        await s.session.refresh();
      },
      'revoked',
    ],
    ["an admin's revoke (the gateway link's word)", async (s: MainServices) => void (await s.session.end('revoked')), 'revoked'],
  ] as const)('%s clears every holder before the renderer is told', async (_name, end, reason) => {
    const { s, keychain, script } = await services();
    await signInAndPopulate(s);
    // what the renderer is told comes after the clearing
    let toldWithTokenStillThere: boolean | null = null;
    s.session.onChange((st) => {
      if (st.status === 'signed-out') toldWithTokenStillThere = keychain.has('refresh-token');
    });
    await end(s, script);
    expect(s.session.current()).toEqual({ status: 'signed-out', reason });
    expect(toldWithTokenStillThere).toBe(false);
    expect(await s.session.accessToken()).toBeNull();
    expect(await s.sip.get()).toBeNull();
    expectSignedOutState(s);
    expectNothingOf(s, keychain, A);
  });

  it('another user signing in over a live session: nothing of the previous user is left, the link restarts for the new one', async () => {
    const { s, keychain } = await services();
    await signInAndPopulate(s, A);
    const stops: string[] = [];
    const stop = s.link.stop.bind(s.link);
    s.link.stop = () => (stops.push(s.session.current().status), stop());
    const out = await s.session.signIn({ username: B.username, password: 'pw-pw-pw-pw' });
    expect(out.outcome).toBe('signed-in');
    // the link was stopped while A's session was being cleared (it then reconnects with B's token)
    expect(stops[0]).toBe('signed-in');
    expect(s.agent.snapshot().view).toBeNull();
    expect(s.agent.holdsAnything()).toBe(false);
    expect(s.supervision.watchBoard()).toEqual({ operators: [], updatedAt: null });
    expect((await s.session.accessToken())?.token).toBe(B.access);
    expect((await s.sip.get())?.authorizationPassword).toBe(B.sipPassword);
    expectNothingOf(s, keychain, A);
    await s.session.signOut();
  });

  it('a refresh on its way at sign-out does not bring the tokens back, nor end the next session when it fails', async () => {
    const { s, keychain, script } = await services();
    await signInAndPopulate(s, A);
    let answer!: (v: unknown) => void;
    let refuse!: (e: unknown) => void;
    script.refresh = () => new Promise((res, rej) => ((answer = res), (refuse = rej)));
    const late = s.session.refresh();
    await new Promise((r) => setTimeout(r, 10));
    await s.session.signOut();
    answer({ tokens: { accessToken: A.access, accessTokenExpiresAt: new Date(s.clock.now() + 900_000).toISOString(), refreshToken: A.refresh, absoluteExpiresAt: new Date(s.clock.now() + 900_000).toISOString() } });
    await late;
    expect(await s.session.accessToken()).toBeNull();
    expect(keychain.has('refresh-token')).toBe(false);
    expectNothingOf(s, keychain, A);

    // A's refresh refused after B signed in: B's session goes on
    script.refresh = () => new Promise((res, rej) => ((answer = res), (refuse = rej)));
    await signInAndPopulate(s, A);
    const lateA = s.session.refresh();
    await new Promise((r) => setTimeout(r, 10));
    script.refresh = undefined;
    await s.session.signIn({ username: B.username, password: 'pw-pw-pw-pw' });
    refuse(new GatewayCallError('session_revoked', 'revoked', 401));
    await lateA;
    expect(s.session.current().status).toBe('signed-in');
    expect((await s.session.accessToken())?.token).toBe(B.access);
    await s.session.signOut();
  });

  it('SIP credentials on their way at sign-out are not stored', async () => {
    const { s, keychain, script } = await services();
    await signInAndPopulate(s, A);
    s.sip.clear();
    let answer!: (v: unknown) => void;
    script.sip = () => new Promise((res) => (answer = res));
    const late = s.sip.renew();
    await new Promise((r) => setTimeout(r, 10));
    await s.session.signOut();
    answer({ authorizationUsername: `9999999999:${A.username}`, authorizationPassword: A.sipPassword, aor: `sip:${A.username}@koe.local`, expiresAt: new Date(s.clock.now() + 900_000).toISOString(), wsServers: ['wss://127.0.0.1:9/ws'] });
    expect(await late).toBeNull();
    script.sip = undefined;
    expect(await s.sip.get()).toBeNull();
    expectNothingOf(s, keychain, A);
  });

  it('sign-out with the gateway not answering (unreachable) still ends the session here, with every holder cleared', async () => {
    const { s, keychain, script } = await services();
    await signInAndPopulate(s, A);
    script.signOut = () => new Promise(() => undefined); // never answers
    const out = await s.session.signOut();
    expect(out).toEqual({ status: 'signed-out', reason: 'signed-out' });
    expectSignedOutState(s);
    expectNothingOf(s, keychain, A);
  });
});
