// Fakes for the phone component tests: a SipPhone the test drives, and a window.koe that
// answers the channels the phone and customer views use, as a signed-in operator. The gateway
// behind the fake is the real operator model (shared/rules/operator-model.ts): intents and
// facts go through step(), views come from viewOf(), as main would forward them.
import type { KoeApi } from '../../shared/ipc/api';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayClient, type FetchFn } from '../../shared/gateway-client';
import { gatewaySender, OutboxService } from '../../main/outbox/outbox';
import { KeytarVault } from '../../main/secrets/vault';
import { memoryKeytar } from '../support/memory-keytar';
import type { AgentIntentInput, AgentLinkState, AgentSnapshot, IntentOutcome, SessionState } from '../../shared/ipc/contract';
import type { CallInfo, CallPhase, PhoneConfig, SipPhone, SipPhoneListener } from '../../renderer/src/features/phone/sip-phone';
import { DEFAULT_MODEL_POLICY, initialOperatorState, step, viewOf, type ModelPolicy, type OperatorEvent, type OperatorState } from '../../shared/rules/operator-model';
import { defaultPolicy, type ClientPolicy } from '../../shared/policy';
import { BUILTIN_ROLES } from '../../shared/gateway/permissions';

export class FakePhone implements SipPhone {
  listener: SipPhoneListener | null = null;
  /** Called before an inbound call reaches the phone (the harness offers it at the fake gateway). */
  beforeRing: ((info: CallInfo) => void) | null = null;
  /** The next failure of an action, by method name (answer, hold, blindTransfer, ...). */
  failNext = new Map<string, unknown>();
  /** The next dialled call ends with this SIP status before dial() returns (a fast 480). */
  dialEndsWith: number | null = null;
  config: PhoneConfig | null = null;
  log: string[] = [];
  private n = 0;

  async start(config: PhoneConfig, listener: SipPhoneListener) {
    this.config = config;
    this.listener = listener;
    listener.registration('connecting');
    listener.registration('registered');
  }
  async stop() {
    this.log.push('stop');
  }
  async recover() {
    this.log.push('recover');
    this.listener?.registration('registered');
  }
  updateCredentials() {
    this.log.push('credentials');
  }
  ring(partial: Partial<CallInfo> = {}): CallInfo {
    const info: CallInfo = {
      id: `call-${++this.n}`,
      sipCallId: `sip-${this.n}@test`,
      direction: 'inbound',
      remote: '+819012345678',
      campaignId: null,
      dialledNumber: '+81312345678',
      receivedAt: performance.now(),
      ...partial,
    };
    this.beforeRing?.(info);
    this.listener!.incoming(info);
    return info;
  }
  phase(id: string, phase: CallPhase) {
    this.listener!.phase(id, phase);
  }
  private fail(method: string) {
    const err = this.failNext.get(method);
    if (err === undefined) return;
    this.failNext.delete(method);
    throw err;
  }
  async answer(id: string) {
    this.fail('answer');
    this.log.push(`answer ${id}`);
    this.phase(id, 'established');
  }
  async reject(id: string, code: 480 | 486 | 603) {
    this.log.push(`reject ${id} ${code}`);
    this.phase(id, 'ended');
  }
  async hangup(id: string) {
    this.log.push(`hangup ${id}`);
    this.phase(id, 'ended');
  }
  async dial(target: string, beforeInvite: (call: CallInfo) => Promise<boolean>): Promise<CallInfo | null> {
    this.fail('dial');
    const info: CallInfo = { id: `out-${++this.n}`, sipCallId: `out-${this.n}@test`, direction: 'outbound', remote: target, campaignId: null, dialledNumber: null, receivedAt: 0 };
    if (!(await beforeInvite(info))) {
      this.log.push(`not dialled ${target}`);
      return null;
    }
    this.log.push(`dial ${target}`);
    if (this.dialEndsWith !== null) {
      const status = this.dialEndsWith;
      this.dialEndsWith = null;
      this.listener!.phase(info.id, 'ended', status);
    }
    return info;
  }
  /** The far end answers with a final status: an outbound call that did not connect. */
  endWith(id: string, status: number) {
    this.listener!.phase(id, 'ended', status);
  }
  async hold(id: string, on: boolean) {
    this.fail('hold');
    this.log.push(`hold ${id} ${on}`);
    this.listener?.held?.(id, on);
  }
  mute(id: string, on: boolean) {
    this.log.push(`mute ${id} ${on}`);
  }
  async dtmf(id: string, tone: string) {
    this.log.push(`dtmf ${id} ${tone}`);
    return 'rtp' as const;
  }
  async blindTransfer(id: string, target: string) {
    this.log.push(`blind ${id} ${target}`);
    this.fail('blindTransfer');
  }
  async attendedTransfer(id: string, consultId: string) {
    this.log.push(`attended ${id} ${consultId}`);
    this.fail('attendedTransfer');
  }
  async joinConference(id: string, otherId: string) {
    this.fail('joinConference');
    this.log.push(`conference ${id} ${otherId}`);
  }
  async setDevices(d: { inputDeviceId: string | null; outputDeviceId: string | null }) {
    this.log.push(`devices ${d.inputDeviceId} ${d.outputDeviceId}`);
  }
}

const ok = <T,>(value: T) => Promise.resolve({ ok: true as const, value });

/** The fake gateway: the real operator model, as main would forward it. */
export class FakeGateway {
  state: OperatorState;
  link: AgentLinkState = 'connected';
  now = Date.parse('2026-06-01T00:00:00Z');
  /** Intents and facts received, in order. */
  received: AgentIntentInput[] = [];
  /** Set to hold back answers (a slow gateway): intents stay pending until it resolves. */
  hold: Promise<void> | null = null;
  /** The org's model policy the fake steps with (a test may allow wrap-up extensions). */
  policy: ModelPolicy = DEFAULT_MODEL_POLICY;
  constructor(
    private readonly emit: (event: string, payload: unknown) => void,
    readonly start: 'ready' | 'not_ready',
  ) {
    this.state = this.fresh();
  }
  fresh(): OperatorState {
    let s = initialOperatorState(this.now);
    const evs: (Record<string, unknown> & { type: string })[] = [{ type: 'connected' }, { type: 'microphone', available: true }];
    if (this.start === 'ready') evs.push({ type: 'setAvailability', state: 'ready' });
    for (const ev of evs) s = step(s, { ...ev, at: ++this.now } as OperatorEvent, DEFAULT_MODEL_POLICY).state;
    return s;
  }
  snapshot(): AgentSnapshot {
    return { view: this.link === 'offline' ? null : viewOf(this.state), link: this.link, pending: [] };
  }
  push(): void {
    this.emit('agent:changed', this.snapshot());
  }
  /** A model event from the gateway's side (offer, tick, lock): applied and pushed, with its notices and hang-ups. */
  event(ev: Record<string, unknown> & { type: string }): boolean {
    const r = step(this.state, { ...ev, at: (ev.at as number | undefined) ?? ++this.now } as OperatorEvent, this.policy);
    if (!r.ok) return false;
    this.state = r.state;
    this.push();
    for (const e of r.effects) {
      if (e.type === 'notify') this.emit('agent:notice', { code: e.code, callId: e.callId });
      if (e.type === 'hangUp') this.emit('agent:hangUp', { callId: e.callId, cause: e.cause });
    }
    return true;
  }
  offer(callId: string): boolean {
    return this.event({ type: 'offer', callId });
  }
  /** The wrap-up timer runs out. */
  wrapUpTimesOut(): void {
    const until = this.state.wrapUp?.until;
    if (until !== undefined) this.event({ type: 'tick', at: until + 1 });
  }
  /** The ring deadline passes. */
  ringTimesOut(): void {
    const until = this.state.ringUntil;
    if (until !== null) this.event({ type: 'tick', at: until + 1 });
  }
  setLink(link: AgentLinkState): void {
    this.link = link;
    this.push();
  }
  async intent(i: AgentIntentInput): Promise<IntentOutcome> {
    this.received.push(i);
    if (this.link !== 'connected') {
      const fact = !['setAvailability', 'finishWrapUp', 'extendWrapUp', 'dial', 'hand'].includes(i.kind);
      return fact ? { outcome: 'queued' } : { outcome: 'refused', refusal: 'unreachable' };
    }
    if (this.hold) await this.hold;
    // as the gateway does: a quality figure is kept in the call's row, not a model event
    if (i.kind === 'quality') return { outcome: 'accepted', view: viewOf(this.state) };
    // as the gateway does (server/sip/agent-ws.ts): the hand intent is raiseHand / lowerHand
    if (i.kind === 'hand') return this.answer({ type: i.raised ? 'raiseHand' : 'lowerHand', at: ++this.now });
    const { kind, ...rest } = i;
    // as the gateway does: "ringing" for a call it never offered is a direct call coming in
    const type = kind === 'ringing' && !this.state.calls.some((c) => c.callId === i.callId) ? 'incoming' : kind;
    return this.answer({ ...rest, type, at: ++this.now } as OperatorEvent);
  }
  private answer(ev: OperatorEvent): IntentOutcome {
    const r = step(this.state, ev, this.policy);
    if (!r.ok) return { outcome: 'refused', refusal: r.refusal };
    this.state = r.state;
    this.push();
    for (const e of r.effects) if (e.type === 'notify') this.emit('agent:notice', { code: e.code, callId: e.callId });
    return { outcome: 'accepted', view: viewOf(this.state) };
  }
}

/** `userId`: the signed-in operator's id (a UUID where a test matches it against the gateway's notes' authorId). */
export function fakeKoe(opts: { agent?: 'ready' | 'not_ready'; language?: 'ja' | 'en'; userId?: string } = {}) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const userId = opts.userId ?? 'u1';
  let outboxUser: string | null = userId;
  const emit = (event: string, payload: unknown) => {
    // main clears the operator's state when the session ends or changes hands
    if (event === 'session:changed') gw.state = gw.fresh();
    // and closes the previous user's outbox (kept sealed), opening the next user's
    if (event === 'session:changed') {
      const st = payload as SessionState;
      const next = st.status === 'signed-in' ? st.user.id : null;
      if (next !== outboxUser) {
        outboxUser = next;
        void outbox.close().then(() => (next ? outbox.open(next) : undefined));
      }
    }
    listeners.get(event)?.forEach((l) => l(payload));
  };
  const gw = new FakeGateway((e, p) => listeners.get(e)?.forEach((l) => l(p)), opts.agent ?? 'ready');
  let locked = false;
  let policy = { policy: { ...defaultPolicy(), gatewayUrl: 'http://gw.test', ...(opts.language ? { language: opts.language } : {}) }, managedKeys: [] as string[] };
  // main's real outbox (a temp dir, an in-memory keychain), sending through the test's stubbed fetch
  const outbox = new OutboxService({
    dir: mkdtempSync(path.join(os.tmpdir(), 'koe-outbox-component-')),
    vault: new KeytarVault(memoryKeytar(), 'Koe (component test)'),
    send: gatewaySender(new GatewayClient(() => 'http://gw.test', ((url, init) => globalThis.fetch(url, init)) as FetchFn), async () => 'access-token'),
    now: () => Date.now(),
    maxDelayMs: 200,
    log: { warn: () => undefined, error: () => undefined },
  });
  outbox.onChange((st) => listeners.get('outbox:changed')?.forEach((l) => l(st)));
  outbox.onSettled((st) => listeners.get('outbox:settled')?.forEach((l) => l(st)));
  const calls: string[] = [];
  const session: SessionState = {
    status: 'signed-in',
    user: { id: userId, username: 'op-1', displayName: '佐藤 花子', role: 'operator', permissions: [...BUILTIN_ROLES.operator.permissions] }, // a real operator's
    device: null,
    totpEnrolmentRequired: false,
    passwordChangeRequired: false,
    absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  const api = {
    app: { info: () => ok({ name: 'Koe', version: '1.0.0', platform: 'linux', host: 'electron' as const, locale: 'ja-JP' }) },
    policy: { get: () => ok(policy) },
    updates: { status: () => ok({ state: 'up_to_date' as const, checkedAt: 0 }) },
    gateway: {
      health: () => ok({ url: 'http://gw.test', reachable: true, version: '1', checkedAt: 0 }),
      link: () => ok({ phase: 'connected' as const, attempt: 0, retryInMs: null }),
    },
    log: { failure: () => ok({ logged: true }) },
    lock: {
      state: () => ok({ locked, reason: null, since: null }),
      lockNow: () => {
        locked = true;
        const st = { locked: true, reason: 'manual' as const, since: 1 };
        emit('lock:changed', st);
        // main reports its lock to the gateway
        gw.event({ type: 'locked', locked: true });
        return ok(st);
      },
      unlock: () => {
        locked = false;
        const st = { locked: false, reason: null, since: null };
        emit('lock:changed', st);
        gw.event({ type: 'locked', locked: false });
        return ok({ outcome: 'unlocked' as const, lock: st });
      },
    },
    session: {
      state: () => ok(session),
      signIn: () => ok({ outcome: 'signed-in' as const, session }),
      signOut: async () => {
        // main closes the user's outbox (kept sealed) before it answers
        outboxUser = null;
        await outbox.close();
        return ok({ status: 'signed-out' as const, reason: 'signed-out' as const });
      },
      accessToken: () => ok(locked ? null : { token: 'access-token', expiresAt: Date.now() + 600_000 }),
    },
    settings: {
      // as main: persisted, then policy:changed with the new effective policy
      setLanguage: (i: { language: 'ja' | 'en' }) => {
        policy = { ...policy, policy: { ...policy.policy, language: i.language } };
        emit('policy:changed', policy);
        return ok(i);
      },
      setTheme: (i: { theme: ClientPolicy['theme'] }) => {
        calls.push(`setTheme ${i.theme}`);
        policy = { ...policy, policy: { ...policy.policy, theme: i.theme } };
        emit('policy:changed', policy);
        return ok(i);
      },
      audioDevices: () => ok({ inputDeviceId: null, outputDeviceId: null }),
      setAudioDevices: (d: unknown) => {
        calls.push(`setAudioDevices ${JSON.stringify(d)}`);
        return ok(d);
      },
    },
    phone: {
      ringing: (r: { callId: string; ringing: boolean }) => {
        calls.push(`phone.ringing ${r.callId} ${r.ringing}`);
        return ok({ alerted: r.ringing });
      },
    },
    supervision: {
      answer: () => ok({ sent: true }),
      reportRegistration: () => ok({ sent: true }),
      watchBoard: () => ok({ operators: [], updatedAt: null }),
    },
    sip: {
      credentials: (i: { renew?: boolean }) => {
        calls.push(`sip.credentials ${JSON.stringify(i)}`);
        return ok({
          authorizationUsername: '1999999999:op-1',
          authorizationPassword: 'secret',
          aor: 'sip:op-1@koe.local',
          wsServers: ['ws://127.0.0.1:1'],
          expiresAt: Date.now() + 3_600_000,
          iceServers: [],
        });
      },
    },
    agent: {
      state: () => ok(gw.snapshot()),
      intent: async (i: AgentIntentInput) => {
        calls.push(`agent ${i.kind}${i.kind === 'setAvailability' ? ` ${i.state}` : ''}`);
        return ok(await gw.intent(i));
      },
    },
    shell: { openExternal: () => ok({ opened: false }) },
    outbox: {
      enqueue: async (item: Parameters<OutboxService['enqueue']>[0]) => {
        if (outbox.openFor() === null && outboxUser) await outbox.open(outboxUser);
        // as main's handler answers: signed out is not_allowed
        if (outbox.openFor() === null) return { ok: false as const, error: { code: 'not_allowed' as const, message: 'Sign in first' } };
        return ok(await outbox.enqueue(item));
      },
      list: () => (locked ? { ok: false as const, error: { code: 'locked' as const, message: 'locked' } } : ok({ items: outbox.list() })),
      state: () => ok(outbox.state()),
    },
    on(event: string, l: (p: unknown) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(l);
      listeners.set(event, set);
      return () => void set.delete(l);
    },
  } as unknown as KoeApi;
  return { api, calls, emit, gw, outbox };
}
