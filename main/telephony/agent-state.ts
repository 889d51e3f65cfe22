import type { z } from 'zod';
import type { WsClientMessage } from '../../shared/gateway/api';
import type { OperatorClientMessages, OperatorIntent, OperatorServerMessages } from '../../shared/gateway/operator';
import type { AgentCard, AgentHangUp, AgentIntentInput, AgentLinkState, AgentNotice, AgentSnapshot, IntentOutcome, IntentRefusal, PendingIntent } from '../../shared/ipc/contract';
import { newerView, type OperatorView } from '../../shared/rules/operator-model';
import { type Timeouts } from '../timers';

export interface AgentLink {
  send(message: WsClientMessage): boolean;
}

type ClientMessage = z.infer<(typeof OperatorClientMessages)[number]>;
export type OperatorServerMessage = z.infer<(typeof OperatorServerMessages)[number]>;

export type AgentTimers = Timeouts;

/** How long an intent waits for the gateway's answer before it is shown as unanswered. */
export const ANSWER_TIMEOUT_MS = 10_000;
/** Phone facts kept while the link is down (the oldest go first beyond this). */
const MAX_QUEUED_FACTS = 100;

/** Intents: the operator asks, the gateway decides; never queued (refused at once while the link is down). */
const INTENT_KINDS: ReadonlySet<OperatorIntent['kind']> = new Set(['setAvailability', 'finishWrapUp', 'extendWrapUp', 'dial', 'hand']);

interface Pending {
  entry: PendingIntent;
  resolve: (o: IntentOutcome) => void;
  timer: unknown;
}

/**
 * The operator's state in main. The gateway owns the operator model
 * (shared/rules/operator-model.ts): main keeps the newest view it pushed (`newerView`: a push
 * older than the one held is ignored), forwards it to the renderer, and sends the renderer's
 * intents and the phone's facts over the gateway link. Main never makes up a state: until the
 * gateway answers an intent, it is listed as pending; while the link is down the renderer is
 * told so (link: 'unreachable') and intents are refused at once ('unreachable'), not queued.
 * Facts (ringing, answered, held, transfer, ended) are queued and replayed when the link is back;
 * the current microphone and lock facts are re-sent on every (re)connect.
 */
export class AgentStateService {
  private view: OperatorView | null = null;
  private link: AgentLinkState = 'offline';
  private everConnected = false;
  private pending = new Map<string, Pending>();
  private queued: { id: string; intent: OperatorIntent }[] = [];
  private microphone: boolean | null = null;
  private locked = false;
  private seq = 0;
  private listeners = new Set<(s: AgentSnapshot) => void>();
  private noticeListeners = new Set<(n: AgentNotice) => void>();
  private hangUpListeners = new Set<(h: AgentHangUp) => void>();
  private cardListeners = new Set<(c: AgentCard) => void>();
  private readonly timers: AgentTimers;

  constructor(
    private readonly link_: AgentLink,
    opts: { timers?: AgentTimers; answerTimeoutMs?: number } = {},
  ) {
    this.timers = opts.timers ?? {
      setTimeout: (f, ms) => {
        const t = setTimeout(f, ms);
        (t as { unref?: () => void }).unref?.();
        return t;
      },
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.answerTimeoutMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  }
  private readonly answerTimeoutMs: number;

  snapshot(): AgentSnapshot {
    // the operator's intents on their way (facts are tracked too, but are not the operator's to wait for)
    const pending = [...this.pending.values()].map((p) => p.entry).filter((e) => INTENT_KINDS.has(e.kind as OperatorIntent['kind']));
    return { view: this.view, link: this.link, pending };
  }

  onChange(listener: (s: AgentSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onNotice(listener: (n: AgentNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }
  /** The card with the ring: forwarded to the renderer as it comes, never kept in main (customer data). */
  onCard(listener: (c: AgentCard) => void): () => void {
    this.cardListeners.add(listener);
    return () => this.cardListeners.delete(listener);
  }
  onHangUp(listener: (h: AgentHangUp) => void): () => void {
    this.hangUpListeners.add(listener);
    return () => this.hangUpListeners.delete(listener);
  }

  /**
   * An intent of the operator or a fact of the phone, from the renderer. Resolves with the
   * gateway's answer: the view after it, its refusal, or why there is none.
   */
  intent(intent: AgentIntentInput): Promise<IntentOutcome> {
    if (intent.kind === 'microphone') this.microphone = intent.available;
    return this.send(intent);
  }

  /** Main's idle lock (LockService): the gateway offers no calls to a locked operator. */
  setLocked(locked: boolean): void {
    if (this.locked === locked) return;
    this.locked = locked;
    if (this.link === 'connected') void this.send({ kind: 'locked', locked });
  }

  /** The gateway link changed (GatewayLink.onState). */
  linkState(state: 'connecting' | 'ready' | 'closed', wanted: boolean): void {
    const next: AgentLinkState = !wanted ? 'offline' : state === 'ready' ? 'connected' : this.everConnected || state === 'closed' ? 'unreachable' : 'connecting';
    if (state === 'ready') this.everConnected = true;
    if (next !== 'connected') {
      // Nothing more will answer what is in flight on the old socket.
      for (const id of [...this.pending.keys()]) this.settle(id, { outcome: 'refused', refusal: next === 'offline' ? 'signed_out' : 'unreachable' });
    }
    const changed = next !== this.link;
    this.link = next;
    if (next === 'connected') {
      // Where this operator stands, then what the phone saw meanwhile.
      if (this.microphone !== null) void this.send({ kind: 'microphone', available: this.microphone });
      void this.send({ kind: 'locked', locked: this.locked });
      const facts = this.queued;
      this.queued = [];
      for (const f of facts) this.transmit(f.id, f.intent);
    }
    if (changed) this.emit();
  }

  /** A message of the operator protocol from the gateway (validated by the link first). */
  fromGateway(msg: OperatorServerMessage): void {
    switch (msg.type) {
      case 'operatorState': {
        const next = newerView(this.view, msg.view);
        const changed = next !== this.view;
        this.view = next;
        if (msg.id && this.pending.has(msg.id)) this.settle(msg.id, { outcome: 'accepted', view: this.view });
        else if (changed) this.emit();
        return;
      }
      case 'operatorRefused':
        if (msg.id && this.pending.has(msg.id)) this.settle(msg.id, { outcome: 'refused', refusal: msg.refusal });
        return;
      case 'operatorNotice':
        for (const l of this.noticeListeners) l({ code: msg.code, callId: msg.callId });
        return;
      case 'operatorHangUp':
        for (const l of this.hangUpListeners) l({ callId: msg.callId, cause: msg.cause });
        return;
      case 'callCard':
        // locked: the gateway offers no calls, and no customer data goes to a locked window
        if (this.locked || this.link !== 'connected') return;
        for (const l of this.cardListeners) l({ callId: msg.callId, card: msg.card });
        return;
    }
  }

  /** The session ended: nothing of this operator stays, pending intents are answered "signed out". */
  reset(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { outcome: 'refused', refusal: 'signed_out' }, false);
    this.view = null;
    this.queued = [];
    this.microphone = null;
    this.everConnected = false;
    this.link = 'offline';
    this.emit();
  }

  /** For tests (user data): true while anything of the session is held. */
  holdsAnything(): boolean {
    return this.view !== null || this.pending.size > 0 || this.queued.length > 0 || this.microphone !== null;
  }

  private send(intent: OperatorIntent): Promise<IntentOutcome> {
    const id = `i${++this.seq}`;
    if (this.link !== 'connected') {
      if (this.link === 'offline') return Promise.resolve({ outcome: 'refused', refusal: 'signed_out' });
      if (INTENT_KINDS.has(intent.kind)) return Promise.resolve({ outcome: 'refused', refusal: 'unreachable' });
      // microphone / locked are re-sent from their current value on reconnect; the phone's facts wait in
      // order (a quality figure does not: the next one, 5 s later, says how the call is then)
      if (intent.kind !== 'microphone' && intent.kind !== 'locked' && intent.kind !== 'quality') {
        this.queued.push({ id, intent });
        if (this.queued.length > MAX_QUEUED_FACTS) this.queued.shift();
      }
      return Promise.resolve({ outcome: 'queued' });
    }
    return this.transmit(id, intent);
  }

  private transmit(id: string, intent: OperatorIntent): Promise<IntentOutcome> {
    const message: ClientMessage = { type: 'operator', id, intent };
    if (!this.link_.send(message)) {
      if (INTENT_KINDS.has(intent.kind)) return Promise.resolve({ outcome: 'refused', refusal: 'unreachable' });
      if (intent.kind !== 'microphone' && intent.kind !== 'locked' && intent.kind !== 'quality') this.queued.push({ id, intent });
      return Promise.resolve({ outcome: 'queued' });
    }
    return new Promise<IntentOutcome>((resolve) => {
      const entry: PendingIntent = {
        id,
        kind: intent.kind,
        state: intent.kind === 'setAvailability' ? intent.state : intent.kind === 'finishWrapUp' ? (intent.next ?? null) : null,
        callId: 'callId' in intent ? intent.callId : null,
      };
      const timer = this.timers.setTimeout(() => this.settle(id, { outcome: 'refused', refusal: 'no_answer' }), this.answerTimeoutMs);
      this.pending.set(id, { entry, resolve, timer });
      if (INTENT_KINDS.has(intent.kind)) this.emit();
    });
  }

  private settle(id: string, outcome: IntentOutcome, emit = true): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.timers.clearTimeout(p.timer);
    p.resolve(outcome);
    if (emit) this.emit();
  }

  private emit(): void {
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }
}

export type { IntentRefusal };
