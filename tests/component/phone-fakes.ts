// Fakes for the phone component tests: a SipPhone the test drives, and a window.koe that
// answers the channels the phone and customer views use, as a signed-in operator.
import type { KoeApi } from '../../shared/ipc/api';
import type { AgentState, SessionState } from '../../shared/ipc/contract';
import type { CallInfo, CallPhase, PhoneConfig, SipPhone, SipPhoneListener } from '../../renderer/src/features/phone/sip-phone';
import { defaultPolicy } from '../../shared/policy';

export class FakePhone implements SipPhone {
  listener: SipPhoneListener | null = null;
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
    this.listener!.incoming(info);
    return info;
  }
  phase(id: string, phase: CallPhase) {
    this.listener!.phase(id, phase);
  }
  async answer(id: string) {
    this.log.push(`answer ${id}`);
    this.phase(id, 'established');
  }
  async reject(id: string, code: 486 | 603) {
    this.log.push(`reject ${id} ${code}`);
    this.phase(id, 'ended');
  }
  async hangup(id: string) {
    this.log.push(`hangup ${id}`);
    this.phase(id, 'ended');
  }
  async dial(target: string): Promise<CallInfo> {
    this.log.push(`dial ${target}`);
    return { id: `out-${++this.n}`, sipCallId: `out-${this.n}@test`, direction: 'outbound', remote: target, campaignId: null, dialledNumber: null, receivedAt: 0 };
  }
  async hold(id: string, on: boolean) {
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
  }
  async attendedTransfer(id: string, consultId: string) {
    this.log.push(`attended ${id} ${consultId}`);
  }
  async setDevices(d: { inputDeviceId: string | null; outputDeviceId: string | null }) {
    this.log.push(`devices ${d.inputDeviceId} ${d.outputDeviceId}`);
  }
}

const ok = <T,>(value: T) => Promise.resolve({ ok: true as const, value });

export function fakeKoe(opts: { agent?: AgentState['state'] } = {}) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  let agent: AgentState = { state: opts.agent ?? 'ready', reason: null, since: 0, confirmed: true };
  let locked = false;
  const calls: string[] = [];
  const session: SessionState = {
    status: 'signed-in',
    user: { id: 'u1', username: 'op-1', displayName: '佐藤 花子', role: 'operator', permissions: ['calls:handle'] },
    device: null,
    totpEnrolmentRequired: false,
    absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  const emit = (event: string, payload: unknown) => listeners.get(event)?.forEach((l) => l(payload));
  const api = {
    app: { info: () => ok({ name: 'Koe', version: '1.0.0', platform: 'linux', host: 'electron' as const, locale: 'ja-JP' }) },
    policy: { get: () => ok({ policy: { ...defaultPolicy(), gatewayUrl: 'http://gw.test' }, managedKeys: [] }) },
    gateway: { health: () => ok({ url: 'http://gw.test', reachable: true, version: '1', checkedAt: 0 }) },
    lock: {
      state: () => ok({ locked, reason: null, since: null }),
      lockNow: () => {
        locked = true;
        const st = { locked: true, reason: 'manual' as const, since: 1 };
        emit('lock:changed', st);
        return ok(st);
      },
      unlock: () => ok({ outcome: 'unlocked' as const, lock: { locked: false, reason: null, since: null } }),
    },
    session: {
      state: () => ok(session),
      signIn: () => ok({ outcome: 'signed-in' as const, session }),
      signOut: () => ok({ status: 'signed-out' as const, reason: 'signed-out' as const }),
      accessToken: () => ok(locked ? null : { token: 'access-token', expiresAt: Date.now() + 600_000 }),
    },
    settings: {
      setLanguage: (i: { language: 'ja' | 'en' }) => ok(i),
      audioDevices: () => ok({ inputDeviceId: null, outputDeviceId: null }),
      setAudioDevices: (d: unknown) => {
        calls.push(`setAudioDevices ${JSON.stringify(d)}`);
        return ok(d);
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
      state: () => ok(agent),
      setState: (i: { state: AgentState['state']; reason?: string }) => {
        calls.push(`agent ${i.state}`);
        agent = { state: i.state, reason: i.reason ?? null, since: Date.now(), confirmed: true };
        emit('agent:changed', agent);
        return ok(agent);
      },
    },
    shell: { openExternal: () => ok({ opened: false }) },
    on(event: string, l: (p: unknown) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(l);
      listeners.set(event, set);
      return () => void set.delete(l);
    },
  } as unknown as KoeApi;
  return { api, calls, emit, setAgent: (a: AgentState['state']) => emit('agent:changed', (agent = { ...agent, state: a })) };
}
