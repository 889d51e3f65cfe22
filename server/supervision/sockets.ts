// Where supervision signalling and board pushes meet the users' sockets, whichever gateway
// instance holds them (issue 14). Every message for a user's sockets goes through `signal`:
// one `supervision` bus message (ids and enums only), delivered to this process at once and to
// every other instance from the database; each instance builds the message for the sockets it
// holds (an offer's SDP is read from the session's row). The operator's answer of a whisper
// leg wakes the instance waiting for it the same way (`operatorAnswered`).
// Registration health (what each operator's client reports) is in sip_registrations, owned by
// the instance that holds the reporting socket; a change re-reads the operator's board row
// everywhere (`board` topic).
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { TopicPayload } from '../bus/topics';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import type { BoardOperator } from '../../shared/gateway/supervision';
import type { SupervisionStore } from './store';

export interface ClientSocket {
  principal: Principal;
  send(message: Record<string, unknown>): void;
}
type Signal = TopicPayload<'supervision'>;
type Registration = NonNullable<BoardOperator['registration']>;

export class SupervisionSockets {
  private readonly sockets = new Map<string, Set<ClientSocket>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly bus: EventBus & { origin: string },
    private readonly store: SupervisionStore,
  ) {
    this.unsubscribe = bus.subscribe('supervision', (m) => {
      void this.onSignal(m).catch((err: unknown) => reportBackgroundFailure(`supervision: delivering ${m.type}`, err));
    });
  }

  /** An authenticated /ws: supervision signalling and board pushes reach the user through it. */
  attach(socket: ClientSocket): () => void {
    const userId = socket.principal.userId;
    const set = this.sockets.get(userId) ?? new Set();
    set.add(socket);
    this.sockets.set(userId, set);
    return () => {
      set.delete(socket);
      if (set.size > 0 || this.sockets.get(userId) !== set) return;
      this.sockets.delete(userId);
      // this instance's report of the user's registration goes with their last socket here
      const clear = this.db
        .deleteFrom('sip_registrations')
        .where('user_id', '=', userId)
        .where('instance', '=', this.bus.origin)
        .returning('user_id')
        .execute()
        .then((rows) => {
          if (rows.length) this.bus.publish('board', { userId });
        })
        .catch((err: unknown) => reportBackgroundFailure('supervision: clearing a registration', err));
      this.pending.add(clear);
      void clear.finally(() => this.pending.delete(clear));
    };
  }

  /** The client's SIP registration report (stored; the board re-reads it everywhere when it changed). */
  setRegistration(userId: string, state: Registration): Promise<void> {
    const now = this.clock.now();
    return this.db
      .insertInto('sip_registrations')
      .values({ user_id: userId, state, instance: this.bus.origin, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('user_id')
          .doUpdateSet({ state, instance: this.bus.origin, updated_at: now })
          .where((eb) => eb.or([eb('sip_registrations.state', '<>', state), eb('sip_registrations.instance', '<>', this.bus.origin)])),
      )
      .returning('user_id')
      .execute()
      .then((rows) => {
        if (rows.length) this.bus.publish('board', { userId });
      });
  }

  /** Sends to this user's sockets on this instance; returns how many. */
  pushLocal(userId: string, message: Record<string, unknown>): number {
    let n = 0;
    for (const s of this.sockets.get(userId) ?? []) {
      try {
        s.send(message);
        n++;
      } catch (err) {
        // a send to a socket that went away: the others still get the message
        reportBackgroundFailure('supervision: push to a socket', err);
      }
    }
    return n;
  }

  /** One message for one user's sockets, on every instance. */
  signal(m: Signal): void {
    this.bus.publish('supervision', m);
  }

  /** Resolves when the operator answered the leg of this supervision (any instance), or after `ms`. */
  answered(supervisionId: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(supervisionId) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(supervisionId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      set.add(done);
      this.waiters.set(supervisionId, set);
    });
  }

  private async onSignal(m: Signal): Promise<void> {
    if (m.type === 'operatorAnswered') {
      for (const w of [...(this.waiters.get(m.supervisionId) ?? [])]) w();
      return;
    }
    if (!this.sockets.has(m.userId)) return; // none of this user's sockets is here
    switch (m.type) {
      case 'supervisionOffer': {
        const row = await this.store.live(m.supervisionId);
        if (!row || row.operator_leg_id !== m.legId || !row.operator_offer || row.operator_id !== m.userId) return;
        this.pushLocal(m.userId, { type: 'supervisionOffer', legId: m.legId, sdp: row.operator_offer, mode: m.mode ?? row.mode });
        return;
      }
      case 'supervisionMode':
        this.pushLocal(m.userId, { type: 'supervisionMode', legId: m.legId, mode: m.mode });
        return;
      case 'supervisionStop':
        this.pushLocal(m.userId, { type: 'supervisionStop', legId: m.legId });
        return;
      case 'supervisionEnded':
        this.pushLocal(m.userId, { type: 'supervisionEnded', supervisionId: m.supervisionId, reason: m.reason });
    }
  }

  /** The registration writes still running (shutdown, before the database goes). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.unsubscribe();
    for (const set of this.waiters.values()) for (const w of [...set]) w();
  }
}
