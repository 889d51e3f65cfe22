// One vocabulary (issue 13): every contract name is declared once and means one thing; the IPC
// contract takes its agent, registration and board types from the gateway's schemas; the
// gateway contract's primitives live in one module. Checked from the real source tree, so a
// second declaration added anywhere fails here, whoever adds it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSourceTree, type SourceFile } from '../support/boundaries';
import { WsClientMessage, WsServerMessage } from '../../shared/gateway/api';
import { CallParams } from '../../shared/gateway/crm';
import { AgentStateSchema, AvailabilitySchema } from '../../shared/gateway/operator';
import { SIP_CALL_ID_MAX } from '../../shared/gateway/primitives';
import { LEGACY_AGENT_STATES, SipRouteQuery } from '../../shared/gateway/sip';
import { BoardOperator, RegistrationState, SupervisionEndReason, VoiceMode } from '../../shared/gateway/supervision';
import { AgentNotice, BoardState, contract, PendingIntent, RegistrationReport, SupervisionEnded, SupervisionSignal } from '../../shared/ipc/contract';
import { AGENT_STATES, AVAILABILITY } from '../../shared/rules/operator-model';
import { SupervisionRelay } from '../../main/telephony/supervision';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const files = readSourceTree(repoRoot);

const EXPORTED = /^export (?:declare )?(?:abstract )?(?:const|let|var|type|interface|class|function|enum) ([A-Za-z_$][\w$]*)/gm;
/** name -> the files that declare (not re-export) it. */
function declarations(source: SourceFile[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const f of source) {
    for (const m of f.text.matchAll(EXPORTED)) {
      const list = by.get(m[1]!) ?? [];
      if (!list.includes(f.path)) list.push(f.path);
      by.set(m[1]!, list);
    }
  }
  return by;
}
/**
 * Names with two meanings: a contract name (shared/) declared again anywhere, or one name
 * declared twice inside one program (main, preload, renderer, server). The same name in two
 * programs that never import each other (main's Clock, the server's Clock) is not a clash.
 */
function clashes(source: SourceFile[]): string[] {
  const out: string[] = [];
  for (const [name, where] of declarations(source)) {
    if (where.length < 2) continue;
    const envs = where.map((p) => p.split('/')[0]);
    if (envs.includes('shared') || new Set(envs).size < envs.length) out.push(`${name}: ${where.join(', ')}`);
  }
  return out.sort();
}

describe('no name with two meanings', () => {
  it('the clash finder sees a contract name declared again and a name declared twice in one program', () => {
    expect(
      clashes([
        { path: 'shared/gateway/crm.ts', text: 'export const CallView = 1;' },
        { path: 'renderer/src/stores/phone.ts', text: 'export interface CallView {}' },
        { path: 'main/a.ts', text: 'export type Clock = 1;' },
        { path: 'main/b.ts', text: 'export interface Clock {}' },
        { path: 'server/clock.ts', text: 'export interface Tick {}' },
        { path: 'main/c.ts', text: 'export interface Tick {}' },
        { path: 'shared/x.ts', text: "export type { CallView } from './gateway/crm';" },
      ]),
    ).toEqual(['CallView: shared/gateway/crm.ts, renderer/src/stores/phone.ts', 'Clock: main/a.ts, main/b.ts']);
  });

  it('holds in the real source tree', () => {
    expect(clashes(files)).toEqual([]);
  });

  it('AgentState and CallView: the old two-meaning names are gone or mean one thing', () => {
    const d = declarations(files);
    expect(d.get('AgentState')).toBeUndefined();
    expect(d.get('LegacyAgentState')).toEqual(['shared/gateway/sip.ts']);
    expect(d.get('AgentStateName')).toEqual(['shared/rules/operator-model.ts']);
    expect(d.get('CallView')).toEqual(['shared/gateway/crm.ts']);
    expect(d.get('PhoneCall')).toEqual(['renderer/src/features/phone/phone-store.ts']);
    // the two agent-state vocabularies differ exactly by the model's `ringing`
    expect([...AGENT_STATES].sort()).toEqual([...LEGACY_AGENT_STATES, 'ringing'].sort());
  });
});

describe('the gateway contract declares its primitives once', () => {
  const gatewayFiles = files.filter((f) => f.path.startsWith('shared/'));
  it('Id, Iso, Instant, SipCallId and uuid schemas are declared only in shared/gateway/primitives.ts', () => {
    const offenders = gatewayFiles
      .filter((f) => f.path !== 'shared/gateway/primitives.ts')
      .flatMap((f) =>
        f.text
          .split('\n')
          .map((line, i) => ({ line, at: `${f.path}:${i + 1}` }))
          .filter(({ line }) => /\b(?:const|let) (?:Id|Iso|IsoIn|Instant|CallId|SipCallId|[A-Z]\w*CallId|LegId)\s*=/.test(line) || /\.uuid\(\)|z\.uuid\(/.test(line)),
      )
      .map((o) => o.at);
    expect(offenders).toEqual([]);
  });

  it('the registration states are spelled out once in the whole tree', () => {
    const NAME = `'(?:registered|connecting|failed|offline)'`;
    const list = new RegExp(`${NAME}(?:\\s*[,|]\\s*${NAME}){3}`, 'g');
    const spelled = files.flatMap((f) => [...f.text.matchAll(list)].map(() => f.path));
    expect(spelled).toEqual(['shared/gateway/supervision.ts']);
  });

  it('one Call-ID bound on every path that takes one: Kamailio queries, CRM calls, operator intents', () => {
    for (const [len, ok] of [[SIP_CALL_ID_MAX, true], [SIP_CALL_ID_MAX + 1, false]] as const) {
      const callId = `${'a'.repeat(len - 5)}@host`;
      expect(SipRouteQuery.safeParse({ did: '+81312345678', callId }).success, `route ${len}`).toBe(ok);
      expect(CallParams.safeParse({ callId }).success, `crm ${len}`).toBe(ok);
      for (const intent of [{ kind: 'ringing', callId }, { kind: 'ended', callId, cause: 'completed' }, { kind: 'dial', callId, number: '+81312345678' }]) {
        expect(WsClientMessage.safeParse({ type: 'operator', intent }).success, `${intent.kind} ${len}`).toBe(ok);
        expect(contract.invoke.agent.intent.input.safeParse(intent).success, `ipc ${intent.kind} ${len}`).toBe(ok);
      }
    }
  });
});

describe('the IPC contract takes agent, registration and board types from the gateway', () => {
  it('uses the gateway schemas themselves, not copies', () => {
    expect(BoardState.shape.operators.element).toBe(BoardOperator);
    expect(RegistrationReport.shape.state).toBe(RegistrationState);
    expect(PendingIntent.shape.state.unwrap()).toBe(AvailabilitySchema);
    expect(contract.invoke.agent.state.output.shape.view.unwrap().shape.agent).toBe(AgentStateSchema);
    expect(SupervisionEnded.shape.reason).toBe(SupervisionEndReason);
    expect(AgentStateSchema.options).toEqual([...AGENT_STATES]);
    expect(AvailabilitySchema.options).toEqual([...AVAILABILITY]);
  });

  it('what the gateway may send reaches the renderer, and what it never sends is refused on both sides', () => {
    const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const relay = new SupervisionRelay({ send: () => true }, () => 1);
    const emitted: unknown[] = [];
    relay.onEvent((event, payload) => event === 'board:changed' && emitted.push(payload));
    let n = 0;
    for (const state of [...LEGACY_AGENT_STATES, 'ringing']) {
      for (const registration of [...RegistrationState.options, null, 'unregistered']) {
        const operator = {
          userId: uuid(++n), username: `op-${n}`, displayName: 'x', teamIds: [], state, reason: null, since: null, registration,
          call: state === 'on_call' ? { callId: `c${n}@h`, campaignId: null, campaignName: null, direction: 'inbound', status: 'answered', since: 'now', customerName: null } : null,
        };
        const valid = state !== 'ringing' && registration !== 'unregistered';
        const wire = WsServerMessage.safeParse({ type: 'boardUpdate', operator });
        expect(wire.success, `${state}/${registration}`).toBe(valid);
        expect(BoardState.safeParse({ operators: [operator], updatedAt: 1 }).success, `${state}/${registration}`).toBe(valid);
        if (wire.success && wire.data.type === 'boardUpdate') relay.fromGateway(wire.data);
      }
    }
    expect(emitted.length).toBe(LEGACY_AGENT_STATES.length * (RegistrationState.options.length + 1));
    for (const payload of emitted) expect(contract.events['board:changed'].safeParse(payload).success).toBe(true);
  });

  it('registration, notices and supervision signals accept exactly the gateway values', () => {
    for (const state of [...RegistrationState.options, 'unregistered', 'Registered']) {
      const wire = WsClientMessage.safeParse({ type: 'registration', state }).success;
      expect(RegistrationReport.safeParse({ state }).success, state).toBe(wire);
    }
    for (const code of ['missed', 'transfer_failed', 'client_lost', 'unknown']) {
      const wire = WsServerMessage.safeParse({ type: 'operatorNotice', code, callId: null }).success;
      expect(AgentNotice.safeParse({ code, callId: null }).success, code).toBe(wire);
    }
    const sdp = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
    const legId = '00000000-0000-4000-8000-000000000001';
    for (const mode of [...VoiceMode.options, 'monitor']) {
      const wire = WsServerMessage.safeParse({ type: 'supervisionOffer', legId, sdp, mode }).success;
      expect(SupervisionSignal.safeParse({ kind: 'offer', legId, sdp, mode }).success, mode).toBe(wire);
    }
    // an SDP the gateway would refuse (no audio m-line) is refused at the IPC too
    expect(contract.invoke.supervision.answer.input.safeParse({ legId, sdp: 'v=0\r\ns=-\r\n' }).success).toBe(false);
    expect(contract.invoke.supervision.answer.input.safeParse({ legId, sdp }).success).toBe(true);
  });
});
