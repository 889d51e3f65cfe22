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
  const a = p.agents;
  return {
    ringSeconds: a.ringSeconds, wrapUpSeconds: a.wrapUpSeconds, graceSeconds: a.clientGraceSeconds,
    wrapUpExtendSeconds: a.wrapUpExtendSeconds, wrapUpMaxExtensions: a.wrapUpMaxExtensions,
  };
}

/**
 * The not-ready reason an intent would set that the org does not list (null: none, or a listed
 * one). Only an operator's own choice is checked: setAvailability('not_ready', reason) and a
 * finishWrapUp going on to not_ready with a reason; no reason at all stays allowed.
 */
export function unlistedReason(p: OrgPolicy['agents'], intent: { kind: string; state?: string; next?: string; reason?: string | null }): string | null {
  const to = intent.kind === 'setAvailability' ? intent.state : intent.kind === 'finishWrapUp' ? intent.next : undefined;
  if (to !== 'not_ready' || !intent.reason) return null;
  return p.notReadyReasons.some((r) => r.code === intent.reason) ? null : intent.reason;
}

export function parseState(value: unknown): OperatorState {
  return jsonColumn<OperatorState>(value);
}

export function legacyOf(s: OperatorState): { state: LegacyAgentState; reason: string | null; since: Date } {
  const state: LegacyAgentState = s.agent === 'ringing' ? 'on_call' : s.agent;
  return { state, reason: s.agent === 'not_ready' ? (s.reason ?? s.reasonCode) : null, since: new Date(s.since) };
}
