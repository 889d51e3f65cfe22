// Small pure helpers around the operator model's stored state (server/sip/agents.ts).
import { jsonColumn } from '../db/json-column';
import type { ModelPolicy, OperatorState } from '../../shared/rules/operator-model';
import type { OrgPolicy } from '../../shared/gateway/policy';
import type { LegacyAgentState } from '../../shared/gateway/sip';

/** Koe username -> SIP user part: lower-cased; Koe usernames ([A-Za-z0-9._-]) are valid SIP user characters. */
export function sipUserOf(username: string): string {
  return username.toLowerCase();
}

export function modelPolicyOf(p: OrgPolicy): ModelPolicy {
  return { ringSeconds: p.agents.ringSeconds, wrapUpSeconds: p.agents.wrapUpSeconds, graceSeconds: p.agents.clientGraceSeconds };
}

export function parseState(value: unknown): OperatorState {
  return jsonColumn<OperatorState>(value);
}

export function legacyOf(s: OperatorState): { state: LegacyAgentState; reason: string | null; since: Date } {
  const state: LegacyAgentState = s.agent === 'ringing' ? 'on_call' : s.agent;
  return { state, reason: s.agent === 'not_ready' ? (s.reason ?? s.reasonCode) : null, since: new Date(s.since) };
}
