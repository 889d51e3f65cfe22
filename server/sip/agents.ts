// Agent states, in process: ready / not_ready (reason) / break / wrap_up / on_call / offline.
// A state lives as long as the agent has an authenticated gateway WebSocket (none: offline);
// every change is audited and published to subscribers (the agent's own sockets now; the
// live board of issue 7 later). Wrap-up ends on the gateway's timer (org policy
// agents.wrapUpSeconds): the gateway then sets the agent ready and pushes it. A timer or a
// listener that fails is logged (server/background.ts) and the process goes on.
import { appendAudit } from '../audit/audit';
import { reportBackgroundFailure } from '../background';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { orgPolicy } from '../policy';
import type { AgentState } from '../../shared/gateway/sip';

export interface AgentRecord {
  userId: string;
  orgId: string;
  username: string;
  state: AgentState;
  reason: string | null;
  since: Date;
}
export interface AgentChange extends AgentRecord {
  previous: AgentState;
  /** 'client' (set over the WebSocket), 'gateway' (timer, routing, connect/disconnect). */
  by: 'client' | 'gateway';
}
export type AgentListener = (change: AgentChange) => void;

/** Koe username -> SIP user part: lower-cased; Koe usernames ([A-Za-z0-9._-]) are valid SIP user characters. */
export function sipUserOf(username: string): string {
  return username.toLowerCase();
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly sockets = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<AgentListener>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Subscribe to every state change; returns the unsubscribe function. */
  subscribe(listener: AgentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(userId: string): AgentRecord | undefined {
    return this.agents.get(userId);
  }

  /** Ready agents among `userIds`, longest ready first. */
  readyAmong(userIds: Iterable<string>): AgentRecord[] {
    const out: AgentRecord[] = [];
    for (const id of userIds) {
      const a = this.agents.get(id);
      if (a && a.state === 'ready') out.push(a);
    }
    return out.sort((a, b) => a.since.getTime() - b.since.getTime() || a.userId.localeCompare(b.userId));
  }

  /** An authenticated WebSocket opened: the first one makes the agent not_ready ("signed_in"). */
  async connect(who: { userId: string; orgId: string; username: string }): Promise<AgentRecord> {
    this.sockets.set(who.userId, (this.sockets.get(who.userId) ?? 0) + 1);
    const current = this.agents.get(who.userId);
    if (current) return current;
    return this.set(who, 'not_ready', 'signed_in', 'gateway');
  }

  /** A WebSocket closed: with none left the agent is offline. */
  async disconnect(userId: string): Promise<void> {
    const n = (this.sockets.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.sockets.set(userId, n);
      return;
    }
    this.sockets.delete(userId);
    const current = this.agents.get(userId);
    if (!current) return;
    await this.set(current, 'offline', null, 'gateway');
    this.agents.delete(userId);
  }

  async set(
    who: { userId: string; orgId: string; username: string },
    state: AgentState,
    reason: string | null,
    by: 'client' | 'gateway',
    detail: Record<string, unknown> = {},
  ): Promise<AgentRecord> {
    const previous = this.agents.get(who.userId)?.state ?? 'offline';
    const record: AgentRecord = { userId: who.userId, orgId: who.orgId, username: who.username, state, reason: state === 'not_ready' ? reason : null, since: this.clock.now() };
    if (state !== 'offline') this.agents.set(who.userId, record);
    const timer = this.timers.get(who.userId);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(who.userId);
    }
    if (state === 'wrap_up') {
      const seconds = (await orgPolicy(this.db, who.orgId)).agents.wrapUpSeconds;
      const t = setTimeout(() => {
        try {
          this.timers.delete(who.userId);
          const now = this.agents.get(who.userId);
          if (now && now.state === 'wrap_up' && now.since === record.since) {
            void this.set(who, 'ready', null, 'gateway', { after: 'wrap_up' }).catch((err: unknown) => reportBackgroundFailure('agents: wrap-up end', err));
          }
        } catch (err) {
          reportBackgroundFailure('agents: wrap-up timer', err);
        }
      }, seconds * 1000);
      t.unref();
      this.timers.set(who.userId, t);
    }
    await this.db.transaction().execute((tx) =>
      appendAudit(tx, this.clock, {
        action: 'agent.state',
        orgId: who.orgId,
        actor: by === 'client' ? { userId: who.userId, username: who.username } : null,
        target: { type: 'user', id: who.userId },
        detail: { state, previous, by, ...(record.reason ? { reason: record.reason } : {}), ...detail },
      }),
    );
    const change: AgentChange = { ...record, previous, by };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        // a listener's failure is its own: the change stands and the other listeners still hear it
        reportBackgroundFailure('agents: state listener', err);
      }
    }
    return record;
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
