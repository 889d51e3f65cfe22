// The one model of an operator's day: the agent (offline, ready, not ready with a reason, break,
// ringing, on call, wrap-up; "missed" is not ready with the reason code "missed") and each of
// their calls (offered, ringing, answered, held, transferring, ended with a cause, wrapped up).
//
// Pure: step(state, event) -> { state, transitions, effects } or a refusal. The gateway owns the
// state (it stores it and every transition in the database); the client renders the view the
// gateway pushes (viewOf) and sends intents; engines (Kamailio, the client's phone) report facts.
// Time is an input (event.at, ms since the epoch): deadlines live in the state, so a restarted
// gateway resumes them (tick) instead of forgetting timers.
//
// Decisions (docs/telephony.md "Agent states" and docs/gateway.md "The operator model at the gateway" say why):
//  - offered only when ready, connected, unlocked, with a microphone, and with no live call;
//  - a ringing call nobody answers ends "no_answer" at the ring deadline: the agent is not ready
//    ("missed"); a declined call: not ready ("declined"); a busy reply: not ready ("busy");
//    the caller hanging up while ringing: back to ready;
//  - every answered call, inbound or outbound, gets exactly one wrap-up when it ends; the wrap-up
//    timer wins over an open panel (the call is wrapped up "timed_out", the agent goes ready);
//  - a locked operator is offered no calls (ready -> not ready "locked"); calls already in
//    progress keep going and keep their controls;
//  - a vanished client: not offered calls at once, offline after the grace period, its calls
//    ended "client_lost"; with a call in conversation the grace is at least CALL_GRACE_SECONDS
//    (its network may come back and the phone restore the audio);
//  - a failed transfer keeps the customer: the call returns to where it was (held or answered);
//  - a three-way call (the consultation joined, mixed in the operator's softphone) is no event of
//    its own: the customer call taken off hold (`held` false) beside its answered consultation,
//    two answered calls, on call; a third call is refused (busy) while both are live;
//  - the watchdog: a call the engines no longer know is ended "repair" (audited as a repair);
//  - a call that reaches the operator without routing (`incoming`: a colleague, a transfer
//    arrival) rings even when not ready or in wrap-up (it cannot be prevented), blocks offers
//    while live, has no ring deadline, never makes the operator not ready, and has no wrap-up;
//  - the raised hand (issue 18 item 9: the operator asks a team lead for help) is independent of
//    the agent state: raised in any state but offline (on a call, in wrap-up, idle), lowered by
//    the operator or a lead, acknowledged by a lead ("I'm coming": it stays up, marked, until
//    lowered); it goes down by itself when the operator goes offline (sign-out, or the client's
//    grace ran out). A lead who starts supervising the operator's call acknowledges it.
export const AGENT_STATES = ['offline', 'ready', 'not_ready', 'break', 'ringing', 'on_call', 'wrap_up'] as const;
export type AgentStateName = (typeof AGENT_STATES)[number];
export const CALL_STATES = ['offered', 'ringing', 'answered', 'held', 'transferring', 'ended', 'wrapped_up'] as const;
export type CallStateName = (typeof CALL_STATES)[number];
export const END_CAUSES = [
  'completed', 'no_answer', 'declined', 'busy', 'caller_abandoned', 'transferred', 'failed', 'client_lost', 'signed_out', 'repair',
] as const;
export type EndCause = (typeof END_CAUSES)[number];
/**
 * How a SIP final status ends a call, in the model's words: the one mapping for the phone (an
 * outbound call's answer) and the gateway (Kamailio's report of a refused INVITE). No status (a
 * BYE or CANCEL) or 487 (the caller gave up): completed, which the model reads as abandoned for an
 * unanswered inbound call.
 */
export function endCauseOfSipStatus(status: number | null): 'completed' | 'declined' | 'busy' | 'no_answer' | 'failed' {
  if (status === null || status === 487) return 'completed';
  if (status === 603) return 'declined';
  if (status === 486 || status === 600) return 'busy';
  if (status === 404 || status === 408 || status === 410 || status === 480) return 'no_answer';
  return 'failed';
}

/** Reasons the model itself gives for "not ready" (an operator's own reason is free text). */
export const SYSTEM_REASONS = ['signed_in', 'missed', 'declined', 'busy', 'locked', 'no_microphone', 'after_call'] as const;
export type SystemReason = (typeof SYSTEM_REASONS)[number];
/** Where an operator may go of their own accord. */
export const AVAILABILITY = ['ready', 'not_ready', 'break'] as const;
export type Availability = (typeof AVAILABILITY)[number];

export interface CallState {
  callId: string;
  direction: 'inbound' | 'outbound';
  state: CallStateName;
  /** Where a transfer returns to if it fails. */
  before: 'answered' | 'held' | null;
  cause: EndCause | null;
  /** A consultation leg of another call (attended transfer): no wrap-up of its own. */
  consultFor: string | null;
  offeredAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  /** How its wrap-up ended: the operator saved it, or the timer did. */
  wrapUp: 'saved' | 'timed_out' | null;
  /** A call that reached the operator without routing (a colleague, a transfer arrival): no ring deadline, no "missed", no wrap-up. */
  internal?: boolean;
}

export interface OperatorState {
  agent: AgentStateName;
  /** not_ready: the operator's words or a system reason code. */
  reason: string | null;
  reasonCode: SystemReason | null;
  since: number;
  /** Open authenticated client connections. 0: not offered calls; offline at graceUntil. */
  connections: number;
  graceUntil: number | null;
  locked: boolean;
  /** null: not reported yet (offering waits for the client to say it has one). */
  microphone: boolean | null;
  calls: CallState[];
  /** The ringing call's no-answer deadline. */
  ringUntil: number | null;
  /** Where the operator stood before the current call(s): where they return after it. */
  resume: { agent: Availability; reason: string | null; reasonCode: SystemReason | null } | null;
  /** The call in wrap-up, when the timer ends it, and how often the operator extended it (absent: never; stored states before extensions). */
  wrapUp: { callId: string; until: number; extensions?: number } | null;
  /**
   * The operator's raised hand (a request for a lead's help): when raised, and which lead
   * acknowledged it when ("I'm coming"). Absent or null: down (states stored before the hand).
   */
  hand?: HandState | null;
  /** Raised on every accepted step: clients ignore a view older than the one they hold. */
  version: number;
}

export interface HandState {
  raisedAt: number;
  acknowledgedAt: number | null;
  /** The lead who acknowledged it (their name is what the operator is shown). */
  acknowledgedBy: HandLead | null;
}
/** A team lead acting on a hand (the gateway's principal: id, username, display name). */
export interface HandLead {
  userId: string;
  username: string;
  displayName: string;
}
/** How the hand changed in a step (audited: agent.hand_*). */
export type HandChange = 'raised' | 'lowered' | 'acknowledged';

export type OperatorEvent =
  | { type: 'connected'; at: number }
  | { type: 'disconnected'; at: number }
  | { type: 'signedOut'; at: number }
  // byLead: a team lead set it (issue 18 item 9; not_ready only): the operator is told
  | { type: 'setAvailability'; at: number; state: Availability; reason?: string | null; byLead?: boolean }
  | { type: 'locked'; at: number; locked: boolean }
  | { type: 'microphone'; at: number; available: boolean }
  // routing chose this operator for an inbound call; ringSeconds: the campaign's ring timeout
  // (the same value Kamailio's timer gets in the route answer), else the policy's
  | { type: 'offer'; at: number; callId: string; ringSeconds?: number }
  // a call reached the operator without routing (a colleague's call, a transfer arrival): the
  // phone reported it ringing and the gateway had never seen it
  | { type: 'incoming'; at: number; callId: string }
  // the operator dials (consultFor: an attended transfer's consultation of that call)
  | { type: 'dial'; at: number; callId: string; consultFor?: string | null }
  // facts from the phone (the client) or the engines
  | { type: 'ringing'; at: number; callId: string }
  | { type: 'answered'; at: number; callId: string }
  | { type: 'held'; at: number; callId: string; held: boolean }
  | { type: 'transfer'; at: number; callId: string; phase: 'started' | 'failed' | 'completed' }
  // answered: the network saw it answered (Kamailio relayed a BYE), whatever the phone reported
  | { type: 'ended'; at: number; callId: string; cause: EndCause; answered?: true }
  | { type: 'finishWrapUp'; at: number; callId: string; next?: Availability; reason?: string | null }
  // the operator asks for more wrap-up time (the org's wrapUpExtendSeconds, at most wrapUpMaxExtensions times)
  | { type: 'extendWrapUp'; at: number; callId: string }
  | { type: 'tick'; at: number }
  // the raised hand (issue 18 item 9): the operator raises or lowers it; a lead lowers or acknowledges it
  // (viaSupervision: the lead started supervising the operator's call)
  | { type: 'raiseHand'; at: number }
  | { type: 'lowerHand'; at: number; byLead?: HandLead }
  | { type: 'acknowledgeHand'; at: number; byLead: HandLead; viaSupervision?: boolean }
  // the engines' view: calls they know to be live (Kamailio dialogs / rtpengine sessions)
  | { type: 'reconcile'; at: number; liveCallIds: string[] };

export interface Transition {
  subject: 'agent' | 'call';
  callId: string | null;
  from: string;
  to: string;
  /** The event type that caused it, and the call's end cause or the agent's reason. */
  event: OperatorEvent['type'];
  cause: string | null;
  at: number;
}

export type Effect =
  /** Tell the phone/engines to end this call (no answer, client lost, sign-out). */
  | { type: 'hangUp'; callId: string; cause: EndCause }
  /** A repair the watchdog made: audited so it shows up. */
  | { type: 'repaired'; callId: string; was: CallStateName }
  /** Something the operator must be told (a transfer failed, wrap-up timed out, a call was missed). */
  | { type: 'notify'; code: NoticeCode; callId: string | null }
  /**
   * The hand went up, down or was acknowledged (audited in the step's transaction). `by`: who did
   * it (the operator, a lead, or the gateway when the operator went offline); `lead` when a lead.
   */
  | { type: 'hand'; change: HandChange; by: 'operator' | 'lead' | 'gateway'; lead: HandLead | null; cause: 'signed_out' | 'offline' | 'supervision' | null; raisedAt: number };
export const NOTICE_CODES = ['missed', 'transfer_failed', 'wrap_up_timed_out', 'call_repaired', 'client_lost', 'set_not_ready_by_lead', 'hand_acknowledged', 'hand_lowered_by_lead'] as const;
export type NoticeCode = (typeof NOTICE_CODES)[number];

export const REFUSALS = [
  'busy_with_call', 'in_wrap_up', 'no_microphone', 'locked', 'not_connected', 'not_available', 'unknown_call', 'call_exists', 'not_in_wrap_up', 'offline',
  // the org's policy: extending a wrap-up is off, or this one was extended as often as it allows
  'extension_not_allowed', 'extension_limit',
  // the gateway's check before the model (server/sip/agent-ws.ts): a not-ready reason the org does not list
  'unknown_reason',
  // the gateway's check before the model: a dial for a campaign that is not the operator's (or is disabled)
  'unknown_campaign',
  // a lead acknowledges a hand that is not raised (lowered meanwhile, or never raised)
  'no_hand',
] as const;
export type Refusal = (typeof REFUSALS)[number];

export type StepResult =
  | { ok: true; state: OperatorState; transitions: Transition[]; effects: Effect[] }
  /** A stale or duplicated fact (an answer for a call already ended): nothing changes. */
  | { ok: true; ignored: true; state: OperatorState; transitions: []; effects: [] }
  | { ok: false; refusal: Refusal; state: OperatorState };

export interface ModelPolicy {
  ringSeconds: number;
  wrapUpSeconds: number;
  graceSeconds: number;
  /** What one extension adds to a wrap-up (0 or absent: not allowed), and how many one wrap-up may have. */
  wrapUpExtendSeconds?: number;
  wrapUpMaxExtensions?: number;
}
/**
 * How long a vanished client with a call in conversation keeps it (at least; the org's grace
 * when longer): a network cut of half a minute must not end a call the phone restores.
 */
export const CALL_GRACE_SECONDS = 90;

export const DEFAULT_MODEL_POLICY: ModelPolicy = { ringSeconds: 30, wrapUpSeconds: 60, graceSeconds: 20 };

export function initialOperatorState(at: number): OperatorState {
  return {
    agent: 'offline', reason: null, reasonCode: null, since: at, connections: 0, graceUntil: null, locked: false,
    microphone: null, calls: [], ringUntil: null, resume: null, wrapUp: null, hand: null, version: 0,
  };
}

const LIVE: ReadonlySet<CallStateName> = new Set(['offered', 'ringing', 'answered', 'held', 'transferring']);
const TALKING: ReadonlySet<CallStateName> = new Set(['answered', 'held', 'transferring']);
export const isLive = (c: CallState) => LIVE.has(c.state);
export const liveCallsOf = (s: OperatorState) => s.calls.filter(isLive);
/** May routing offer this operator a call now? */
export function offerable(s: OperatorState): boolean {
  return s.agent === 'ready' && s.connections > 0 && !s.locked && s.microphone === true && liveCallsOf(s).length === 0 && !s.wrapUp;
}
/** Only ended-or-wrapped calls still waiting for their wrap-up, plus the live ones, are kept. */
const KEEP_ENDED = 4;

/** The agent state the calls imply, or null when no call decides it (idle states stand). */
function agentFromCalls(s: OperatorState): AgentStateName | null {
  const live = liveCallsOf(s);
  if (live.some((c) => TALKING.has(c.state) || c.direction === 'outbound')) return 'on_call';
  if (live.length) return 'ringing';
  if (s.wrapUp) return 'wrap_up';
  return null;
}

class Builder {
  transitions: Transition[] = [];
  effects: Effect[] = [];
  s: OperatorState;
  constructor(
    prev: OperatorState,
    readonly ev: OperatorEvent,
    readonly policy: ModelPolicy,
  ) {
    this.s = { ...prev, calls: prev.calls.map((c) => ({ ...c })) };
  }
  call(callId: string): CallState | undefined {
    return this.s.calls.find((c) => c.callId === callId);
  }
  setCall(c: CallState, to: CallStateName, cause: string | null = null): void {
    if (c.state === to) return;
    this.transitions.push({ subject: 'call', callId: c.callId, from: c.state, to, event: this.ev.type, cause, at: this.ev.at });
    c.state = to;
  }
  setAgent(to: AgentStateName, reason: string | null = null, reasonCode: SystemReason | null = null): void {
    const s = this.s;
    if (s.agent === to && s.reason === reason && s.reasonCode === reasonCode) return;
    this.transitions.push({ subject: 'agent', callId: null, from: s.agent, to, event: this.ev.type, cause: reasonCode ?? reason, at: this.ev.at });
    s.agent = to;
    s.reason = to === 'not_ready' ? reason : null;
    s.reasonCode = to === 'not_ready' ? reasonCode : null;
    s.since = this.ev.at;
  }
  /** Ends a live call with a cause; an answered (not consultation) call goes to wrap-up. */
  endCall(c: CallState, cause: EndCause): void {
    if (!isLive(c)) return;
    const answered = c.answeredAt !== null;
    c.cause = cause;
    c.endedAt = this.ev.at;
    this.setCall(c, 'ended', cause);
    if (this.s.ringUntil !== null && !liveCallsOf(this.s).some((x) => x.state === 'offered' || x.state === 'ringing')) this.s.ringUntil = null;
    if (answered && !c.consultFor && !c.internal) {
      if (this.s.wrapUp) {
        // a wrap-up was open (a call made during it): that one is done by the timer's rule now
        const open = this.call(this.s.wrapUp.callId);
        if (open && open.state === 'ended') {
          open.wrapUp = 'timed_out';
          this.setCall(open, 'wrapped_up', 'timed_out');
        }
      }
      this.s.wrapUp = { callId: c.callId, until: this.ev.at + this.policy.wrapUpSeconds * 1000 };
    } else {
      // an unanswered or consultation call has nothing to wrap up
      c.wrapUp = null;
    }
  }
  /** After calls changed: the agent state the calls imply, or `idle` when none does. */
  settle(idle: () => void): void {
    const implied = agentFromCalls(this.s);
    if (implied) this.setAgent(implied);
    else idle();
  }
  done(): StepResult {
    // keep the state small: live calls, the call in wrap-up, and the last few ended ones
    const keep = new Set<string>();
    const ended = this.s.calls.filter((c) => !isLive(c) && c.callId !== this.s.wrapUp?.callId);
    for (const c of ended.slice(-KEEP_ENDED)) keep.add(c.callId);
    this.s.calls = this.s.calls.filter((c) => isLive(c) || c.callId === this.s.wrapUp?.callId || keep.has(c.callId));
    if (this.transitions.length === 0 && this.effects.length === 0 && sameState(this.s, this.prevSnapshot)) {
      return { ok: true, ignored: true, state: this.prevSnapshot, transitions: [], effects: [] };
    }
    this.s.version = this.prevSnapshot.version + 1;
    return { ok: true, state: this.s, transitions: this.transitions, effects: this.effects };
  }
  prevSnapshot!: OperatorState;
}

function sameState(a: OperatorState, b: OperatorState): boolean {
  return JSON.stringify({ ...a, version: 0 }) === JSON.stringify({ ...b, version: 0 });
}

const refuse = (state: OperatorState, refusal: Refusal): StepResult => ({ ok: false, refusal, state });
const ignore = (state: OperatorState): StepResult => ({ ok: true, ignored: true, state, transitions: [], effects: [] });

/** The one transition function. Never throws for any event in any state. */
export function step(prev: OperatorState, ev: OperatorEvent, policy: ModelPolicy = DEFAULT_MODEL_POLICY): StepResult {
  const b = new Builder(prev, ev, policy);
  b.prevSnapshot = prev;
  const s = b.s;
  const idleAfterCall = () => {
    // back to where the operator stood before the call (ready for an offered one), unless the
    // lock or a missing microphone says otherwise
    if (s.agent === 'ringing' || s.agent === 'on_call' || s.agent === 'wrap_up') {
      const r = s.resume ?? { agent: 'ready', reason: null, reasonCode: null };
      if (r.agent !== 'ready') b.setAgent(r.agent, r.reason, r.reasonCode);
      else if (s.locked) b.setAgent('not_ready', null, 'locked');
      else if (s.microphone !== true) b.setAgent('not_ready', null, 'no_microphone');
      else b.setAgent('ready');
    }
    if (agentFromCalls(s) === null) s.resume = null;
  };
  /** An offered or ringing call answered (the phone said so, or a BYE proved it). */
  const answer = (c: CallState) => {
    c.answeredAt = ev.at;
    b.setCall(c, 'answered');
    if (!liveCallsOf(s).some((x) => x.state === 'offered' || x.state === 'ringing')) s.ringUntil = null;
  };
  switch (ev.type) {
    case 'connected': {
      s.connections += 1;
      s.graceUntil = null;
      if (s.agent === 'offline') b.setAgent('not_ready', null, 'signed_in');
      return b.done();
    }
    case 'disconnected': {
      if (s.connections === 0) return ignore(prev);
      s.connections -= 1;
      if (s.connections === 0) {
        // A call in conversation is kept longer: the phone brings its audio back once the network
        // returns (an ICE restart), and the customer is still on the line meanwhile.
        const talking = liveCallsOf(s).some((c) => c.state === 'answered' || c.state === 'held' || c.state === 'transferring');
        s.graceUntil = ev.at + Math.max(policy.graceSeconds, talking ? CALL_GRACE_SECONDS : 0) * 1000;
      }
      return b.done();
    }
    case 'signedOut': {
      if (s.agent === 'offline' && s.connections === 0) return ignore(prev);
      for (const c of liveCallsOf(s)) {
        b.endCall(c, 'signed_out');
        b.effects.push({ type: 'hangUp', callId: c.callId, cause: 'signed_out' });
      }
      wrapUpTimedOut(b, false);
      handDownAtOffline(b, 'signed_out');
      s.connections = 0;
      s.graceUntil = null;
      s.ringUntil = null;
      s.locked = false;
      s.microphone = null;
      s.resume = null;
      b.setAgent('offline');
      return b.done();
    }
    case 'setAvailability': {
      if (s.agent === 'offline') return refuse(prev, 'offline');
      if (liveCallsOf(s).length) return refuse(prev, 'busy_with_call');
      if (s.wrapUp) return refuse(prev, 'in_wrap_up');
      if (ev.state === 'ready') {
        if (s.locked) return refuse(prev, 'locked');
        if (s.microphone !== true) return refuse(prev, 'no_microphone');
        b.setAgent('ready');
      } else if (ev.state === 'break') b.setAgent('break');
      else b.setAgent('not_ready', ev.reason ?? null, null);
      // a lead's change goes through the same rules (refused on a call and in wrap-up); the operator is told who did it
      if (ev.byLead && ev.state === 'not_ready') b.effects.push({ type: 'notify', code: 'set_not_ready_by_lead', callId: null });
      return b.done();
    }
    case 'locked': {
      if (s.locked === ev.locked) return ignore(prev);
      s.locked = ev.locked;
      if (ev.locked && s.agent === 'ready') b.setAgent('not_ready', null, 'locked');
      return b.done();
    }
    case 'microphone': {
      if (s.microphone === ev.available) return ignore(prev);
      s.microphone = ev.available;
      if (!ev.available && s.agent === 'ready') b.setAgent('not_ready', null, 'no_microphone');
      return b.done();
    }
    case 'offer': {
      if (b.call(ev.callId)) return ignore(prev);
      if (s.connections === 0) return refuse(prev, 'not_connected');
      if (!offerable(s)) return refuse(prev, 'not_available');
      s.calls.push(newCall(ev.callId, 'inbound', ev.at, null));
      s.ringUntil = ev.at + ringSecondsOf(ev.ringSeconds, policy) * 1000;
      s.resume = { agent: 'ready', reason: null, reasonCode: null };
      b.transitions.push({ subject: 'call', callId: ev.callId, from: 'none', to: 'offered', event: 'offer', cause: null, at: ev.at });
      b.setAgent('ringing');
      return b.done();
    }
    case 'incoming': {
      if (b.call(ev.callId)) return ignore(prev);
      if (s.agent === 'offline') return refuse(prev, 'offline');
      if (s.connections === 0) return refuse(prev, 'not_connected');
      const live = liveCallsOf(s);
      // alongside at most one call in conversation (a consultation arriving while the customer is held)
      if (live.length > 1 || live.some((c) => c.state !== 'answered' && c.state !== 'held')) return refuse(prev, 'busy_with_call');
      if (s.agent === 'ready' || s.agent === 'not_ready' || s.agent === 'break') {
        s.resume = { agent: s.agent, reason: s.reason, reasonCode: s.reasonCode };
      }
      s.calls.push({ ...newCall(ev.callId, 'inbound', ev.at, null), internal: true });
      b.transitions.push({ subject: 'call', callId: ev.callId, from: 'none', to: 'offered', event: 'incoming', cause: null, at: ev.at });
      b.settle(() => undefined);
      return b.done();
    }
    case 'dial': {
      if (b.call(ev.callId)) return ignore(prev);
      if (s.agent === 'offline') return refuse(prev, 'offline');
      if (s.microphone === false) return refuse(prev, 'no_microphone');
      const consultFor = ev.consultFor ?? null;
      const live = liveCallsOf(s);
      if (consultFor) {
        const primary = b.call(consultFor);
        if (!primary || !TALKING.has(primary.state)) return refuse(prev, 'unknown_call');
        if (live.length > 1) return refuse(prev, 'busy_with_call');
      } else {
        if (live.length) return refuse(prev, 'busy_with_call');
        if (s.wrapUp) return refuse(prev, 'in_wrap_up');
      }
      if (!consultFor && (s.agent === 'ready' || s.agent === 'not_ready' || s.agent === 'break')) {
        s.resume = { agent: s.agent, reason: s.reason, reasonCode: s.reasonCode };
      }
      s.calls.push(newCall(ev.callId, 'outbound', ev.at, consultFor));
      b.transitions.push({ subject: 'call', callId: ev.callId, from: 'none', to: 'offered', event: 'dial', cause: null, at: ev.at });
      b.setAgent('on_call');
      return b.done();
    }
    case 'ringing': {
      const c = b.call(ev.callId);
      if (!c || c.state !== 'offered') return ignore(prev);
      b.setCall(c, 'ringing');
      return b.done();
    }
    case 'answered': {
      const c = b.call(ev.callId);
      if (!c || (c.state !== 'offered' && c.state !== 'ringing')) return ignore(prev);
      answer(c);
      b.settle(() => undefined);
      return b.done();
    }
    case 'held': {
      const c = b.call(ev.callId);
      if (!c || (c.state !== 'answered' && c.state !== 'held')) return ignore(prev);
      b.setCall(c, ev.held ? 'held' : 'answered');
      return b.done();
    }
    case 'transfer': {
      const c = b.call(ev.callId);
      if (!c || !TALKING.has(c.state)) return ignore(prev);
      if (ev.phase === 'started') {
        if (c.state === 'transferring') return ignore(prev);
        c.before = c.state === 'held' ? 'held' : 'answered';
        b.setCall(c, 'transferring');
      } else if (ev.phase === 'failed') {
        if (c.state !== 'transferring') return ignore(prev);
        b.setCall(c, c.before ?? 'held', 'transfer_failed');
        c.before = null;
        b.effects.push({ type: 'notify', code: 'transfer_failed', callId: c.callId });
      } else {
        b.endCall(c, 'transferred');
        b.settle(idleAfterCall);
      }
      return b.done();
    }
    case 'ended': {
      const c = b.call(ev.callId);
      if (!c || !isLive(c)) return ignore(prev);
      // a BYE ends only an answered call: the phone's "answered" is late (one rule with the event)
      if (ev.answered && (c.state === 'offered' || c.state === 'ringing')) answer(c);
      // what the operator and the caller did, whatever the reporter called it
      const cause: EndCause =
        c.answeredAt === null && ev.cause === 'completed' ? (c.direction === 'inbound' ? 'caller_abandoned' : 'failed') : ev.cause;
      const wasInboundOffer = c.direction === 'inbound' && c.answeredAt === null && !c.internal;
      b.endCall(c, cause);
      if (wasInboundOffer && (cause === 'no_answer' || cause === 'declined' || cause === 'busy')) {
        const code: SystemReason = cause === 'no_answer' ? 'missed' : cause;
        b.settle(() => {
          b.setAgent('not_ready', null, code);
          s.resume = null;
        });
        if (cause === 'no_answer') b.effects.push({ type: 'notify', code: 'missed', callId: c.callId });
      } else {
        b.settle(idleAfterCall);
      }
      return b.done();
    }
    case 'finishWrapUp': {
      if (!s.wrapUp || s.wrapUp.callId !== ev.callId) return s.calls.some((c) => c.callId === ev.callId && c.state === 'wrapped_up') ? ignore(prev) : refuse(prev, 'not_in_wrap_up');
      const c = b.call(ev.callId);
      if (c) {
        c.wrapUp = 'saved';
        b.setCall(c, 'wrapped_up', 'saved');
      }
      s.wrapUp = null;
      const next = ev.next;
      b.settle(() => {
        if (next === undefined || next === (s.resume?.agent ?? 'ready')) idleAfterCall();
        else if (next === 'ready') {
          s.resume = null;
          idleAfterCall();
        }
        else {
          if (next === 'break') b.setAgent('break');
          else b.setAgent('not_ready', ev.reason ?? null, ev.reason ? null : 'after_call');
          s.resume = null;
        }
      });
      return b.done();
    }
    case 'extendWrapUp': {
      // a deadline already passed is the timer's (the sweeper fires it): no extension brings it back
      if (!s.wrapUp || s.wrapUp.callId !== ev.callId || ev.at >= s.wrapUp.until) return refuse(prev, 'not_in_wrap_up');
      const by = policy.wrapUpExtendSeconds ?? 0;
      if (by <= 0) return refuse(prev, 'extension_not_allowed');
      const used = s.wrapUp.extensions ?? 0;
      if (used >= (policy.wrapUpMaxExtensions ?? 0)) return refuse(prev, 'extension_limit');
      // the deadline moves in the state, so nextDeadline (the stored next_deadline) moves with it
      s.wrapUp = { callId: s.wrapUp.callId, until: s.wrapUp.until + by * 1000, extensions: used + 1 };
      return b.done();
    }
    case 'tick': {
      if (s.graceUntil !== null && ev.at >= s.graceUntil && s.connections === 0) {
        for (const c of liveCallsOf(s)) {
          b.endCall(c, 'client_lost');
          b.effects.push({ type: 'hangUp', callId: c.callId, cause: 'client_lost' });
        }
        wrapUpTimedOut(b, false);
        handDownAtOffline(b, 'offline');
        s.graceUntil = null;
        s.ringUntil = null;
        s.resume = null;
        b.setAgent('offline');
        return b.done();
      }
      if (s.ringUntil !== null && ev.at >= s.ringUntil) {
        for (const c of liveCallsOf(s).filter((x) => x.state === 'offered' || x.state === 'ringing')) {
          if (c.direction !== 'inbound' || c.internal) continue;
          b.endCall(c, 'no_answer');
          b.effects.push({ type: 'hangUp', callId: c.callId, cause: 'no_answer' });
          b.effects.push({ type: 'notify', code: 'missed', callId: c.callId });
        }
        s.ringUntil = null;
        b.settle(() => {
          b.setAgent('not_ready', null, 'missed');
          s.resume = null;
        });
      }
      if (s.wrapUp && ev.at >= s.wrapUp.until) {
        wrapUpTimedOut(b, true);
        b.settle(idleAfterCall);
      }
      return b.done();
    }
    case 'raiseHand': {
      if (s.agent === 'offline') return refuse(prev, 'offline');
      if (s.hand) return ignore(prev); // already up: the first raise's time stands
      s.hand = { raisedAt: ev.at, acknowledgedAt: null, acknowledgedBy: null };
      b.effects.push({ type: 'hand', change: 'raised', by: 'operator', lead: null, cause: null, raisedAt: ev.at });
      return b.done();
    }
    case 'lowerHand': {
      const h = s.hand;
      if (!h) return ev.byLead ? refuse(prev, 'no_hand') : ignore(prev);
      s.hand = null;
      b.effects.push({ type: 'hand', change: 'lowered', by: ev.byLead ? 'lead' : 'operator', lead: ev.byLead ?? null, cause: null, raisedAt: h.raisedAt });
      if (ev.byLead) b.effects.push({ type: 'notify', code: 'hand_lowered_by_lead', callId: null });
      return b.done();
    }
    case 'acknowledgeHand': {
      const h = s.hand;
      if (!h) return refuse(prev, 'no_hand');
      if (h.acknowledgedBy) return ignore(prev); // a lead is already on the way: the first acknowledgement stands
      s.hand = { ...h, acknowledgedAt: ev.at, acknowledgedBy: { ...ev.byLead } };
      b.effects.push({ type: 'hand', change: 'acknowledged', by: 'lead', lead: { ...ev.byLead }, cause: ev.viaSupervision ? 'supervision' : null, raisedAt: h.raisedAt });
      b.effects.push({ type: 'notify', code: 'hand_acknowledged', callId: null });
      return b.done();
    }
    case 'reconcile': {
      const live = new Set(ev.liveCallIds);
      for (const c of liveCallsOf(s)) {
        if (live.has(c.callId)) continue;
        // only calls that should exist in the engines by now: an offer still ringing at the
        // client may not have reached the engine's dialog table yet
        if (c.state === 'offered' && ev.at - c.offeredAt < 5_000) continue;
        const was = c.state;
        b.endCall(c, 'repair');
        b.effects.push({ type: 'repaired', callId: c.callId, was });
      }
      if (b.effects.length) {
        b.effects.push({ type: 'notify', code: 'call_repaired', callId: null });
        b.settle(idleAfterCall);
      }
      return b.done();
    }
  }
}

/** The operator goes offline: a raised hand goes down with them (nobody is there to help). */
function handDownAtOffline(b: Builder, cause: 'signed_out' | 'offline'): void {
  const h = b.s.hand;
  if (!h) return;
  b.s.hand = null;
  b.effects.push({ type: 'hand', change: 'lowered', by: 'gateway', lead: null, cause, raisedAt: h.raisedAt });
}

function wrapUpTimedOut(b: Builder, notify: boolean): void {
  const s = b.s;
  if (!s.wrapUp) return;
  const c = b.call(s.wrapUp.callId);
  if (c && c.state === 'ended') {
    c.wrapUp = 'timed_out';
    b.setCall(c, 'wrapped_up', 'timed_out');
    if (notify) b.effects.push({ type: 'notify', code: 'wrap_up_timed_out', callId: c.callId });
  }
  s.wrapUp = null;
}

/** The ring timeout of an offer: the campaign's (a whole number of seconds, 1-600) when given, else the policy's. */
export function ringSecondsOf(campaign: number | null | undefined, policy: ModelPolicy): number {
  return typeof campaign === 'number' && Number.isInteger(campaign) && campaign >= 1 && campaign <= 600 ? campaign : policy.ringSeconds;
}

function newCall(callId: string, direction: 'inbound' | 'outbound', at: number, consultFor: string | null): CallState {
  return { callId, direction, state: 'offered', before: null, cause: null, consultFor, offeredAt: at, answeredAt: null, endedAt: null, wrapUp: null };
}

/** The earliest deadline in the state (the gateway ticks then), or null. */
export function nextDeadline(s: OperatorState): number | null {
  const ds = [s.ringUntil, s.wrapUp?.until ?? null, s.connections === 0 ? s.graceUntil : null].filter((d): d is number => d !== null);
  return ds.length ? Math.min(...ds) : null;
}

/** What the client renders: pushed by the gateway after every accepted step. */
export interface OperatorView {
  version: number;
  agent: AgentStateName;
  reason: string | null;
  reasonCode: SystemReason | null;
  since: number;
  locked: boolean;
  microphone: boolean | null;
  offerable: boolean;
  calls: { callId: string; direction: 'inbound' | 'outbound'; state: CallStateName; cause: EndCause | null; consultFor: string | null; wrapUp: 'saved' | 'timed_out' | null }[];
  /** extensions: how often the operator extended it (absent: never). */
  wrapUp: { callId: string; until: number; extensions?: number } | null;
  /** The raised hand: when, and the name of the lead who acknowledged it when (absent: a gateway before the hand). */
  hand?: HandView | null;
}
export interface HandView {
  raisedAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

/** The hand as the operator and the board show it: the acknowledging lead by display name. */
export function handView(h: HandState | null | undefined): HandView | null {
  return h ? { raisedAt: h.raisedAt, acknowledgedAt: h.acknowledgedAt, acknowledgedBy: h.acknowledgedBy?.displayName ?? null } : null;
}

export function viewOf(s: OperatorState): OperatorView {
  return {
    version: s.version, agent: s.agent, reason: s.reason, reasonCode: s.reasonCode, since: s.since, locked: s.locked, microphone: s.microphone,
    offerable: offerable(s),
    calls: s.calls.map((c) => ({ callId: c.callId, direction: c.direction, state: c.state, cause: c.cause, consultFor: c.consultFor, wrapUp: c.wrapUp })),
    wrapUp: s.wrapUp ? { ...s.wrapUp } : null,
    hand: handView(s.hand),
  };
}

/** The client's rule for pushed views: a view older than the one held is ignored (pushes may be reordered or repeated). */
export function newerView(held: OperatorView | null, incoming: OperatorView): OperatorView {
  return held && held.version >= incoming.version ? held : incoming;
}

/**
 * The invariants every reachable state keeps (checked by the property tests, and by the gateway
 * before it stores a state: a violation is a bug, logged and repaired, never stored).
 */
export function invariantProblems(s: OperatorState): string[] {
  const out: string[] = [];
  const live = liveCallsOf(s);
  const talking = live.filter((c) => TALKING.has(c.state));
  if (s.agent === 'on_call' && live.length === 0) out.push('on_call without a live call');
  if (s.agent === 'ringing' && !live.some((c) => c.state === 'offered' || c.state === 'ringing')) out.push('ringing without a ringing call');
  if (talking.length && s.agent !== 'on_call') out.push(`a call is ${talking[0]!.state} but the agent is ${s.agent}`);
  if (live.length && (s.agent === 'ready' || s.agent === 'not_ready' || s.agent === 'break' || s.agent === 'offline')) out.push(`a live call but the agent is ${s.agent}`);
  if (s.agent === 'wrap_up' && !s.wrapUp) out.push('wrap_up without a call to wrap up');
  if (s.wrapUp && s.agent !== 'wrap_up' && live.length === 0) out.push('a wrap-up open but the agent is ' + s.agent);
  if (s.wrapUp) {
    const c = s.calls.find((x) => x.callId === s.wrapUp!.callId);
    if (!c || c.state !== 'ended' || c.answeredAt === null) out.push('the wrap-up is not of an ended answered call');
  }
  if (s.agent === 'ready' && (s.locked || s.microphone !== true)) out.push('ready while locked or without a microphone');
  if (s.agent === 'offline' && (s.connections > 0 || live.length)) out.push('offline with connections or calls');
  if (s.agent === 'offline' && s.hand) out.push('a hand raised while offline');
  if (s.hand && (s.hand.acknowledgedAt === null) !== (s.hand.acknowledgedBy === null)) out.push('a hand acknowledged without a lead (or a lead without the time)');
  if (s.agent !== 'not_ready' && (s.reason !== null || s.reasonCode !== null)) out.push('a reason outside not_ready');
  for (const c of s.calls) {
    if (c.state === 'wrapped_up' && (c.answeredAt === null || !c.wrapUp)) out.push('wrapped up without an answer');
    if (c.state === 'ended' && c.answeredAt !== null && !c.consultFor && !c.internal && s.wrapUp?.callId !== c.callId) out.push('an answered call ended without its wrap-up');
  }
  return out;
}
