import type { AgentState, SettableAgentStateName } from '../../shared/ipc/contract';
import type { AgentStateAck } from '../session/gateway-link';

export interface AgentLink {
  send(message: { type: string } & Record<string, unknown>): boolean;
}

/**
 * The operator's agent state (ready / not ready + reason / break / wrap-up). Main owns it and
 * sends it over the gateway link (the gateway routes calls only to READY operators); the
 * gateway's ack confirms it. After a reconnect the current state is sent again. Signing in
 * starts NOT READY: an operator chooses to take calls.
 */
export class AgentStateService {
  private state: AgentState = { state: 'not_ready', reason: null, since: null, confirmed: false };
  private listeners = new Set<(s: AgentState) => void>();
  /** What the operator chose last (or the gateway's ready after wrap-up): re-sent after a reconnect. */
  private desired: { state: SettableAgentStateName; reason: string | null } = { state: 'not_ready', reason: null };

  constructor(private readonly link: AgentLink) {}

  current(): AgentState {
    return this.state;
  }

  onChange(listener: (s: AgentState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(state: SettableAgentStateName, reason?: string): AgentState {
    this.desired = { state, reason: reason ?? null };
    this.update({ state, reason: reason ?? null, since: null, confirmed: false });
    this.link.send({ type: 'agentState', state, ...(reason ? { reason } : {}) });
    return this.state;
  }

  /** The link is (again) authenticated: tell the gateway where this operator stands. */
  resend(): void {
    const { state, reason } = this.desired;
    this.link.send({ type: 'agentState', state, ...(reason ? { reason } : {}) });
  }

  /**
   * The gateway's word on this operator's state: the ack of a change we sent, or one it made
   * (a call routed here -> on_call, wrap-up time over -> ready). The gateway is the authority.
   */
  acknowledged(ack: AgentStateAck): void {
    if (ack.state === 'ready') this.desired = { state: 'ready', reason: null };
    const since = typeof ack.since === 'number' ? ack.since : ack.since ? Date.parse(ack.since) : Date.now();
    this.update({ state: ack.state, reason: ack.reason ?? null, since: Number.isFinite(since) ? since : Date.now(), confirmed: true });
  }

  /** Sign-out. */
  reset(): void {
    this.desired = { state: 'not_ready', reason: null };
    this.update({ state: 'not_ready', reason: null, since: null, confirmed: false });
  }

  private update(s: AgentState): void {
    this.state = s;
    for (const l of this.listeners) l(s);
  }
}
