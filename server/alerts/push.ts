// Alerts live to the console (issue 17): every /ws socket registers here (server/ws/connection.ts);
// a raised alert (bus topic `alert`, from any gateway instance) is read once per process and
// sent to the sockets of its org whose CURRENT principal holds alerts:read. The check runs per
// push on the socket's live principal (server/ws/live-principal.ts keeps it current: a role
// change re-reads the permissions, a revoked session ends it), and the send goes through the
// socket's push(), which sends nothing once the principal is no longer usable.
import type { AlertView } from '../../shared/gateway/admin-alerts';
import { reportBackgroundFailure } from '../background';
import type { EventBus } from '../bus/event-bus';
import type { Db } from '../db/schema';
import type { Principal } from '../auth/principal-type';
import { alertViews } from './raise';

export interface AlertSocket {
  /** The socket's principal if it may still be served, else null. */
  current(): Principal | null;
  send(m: Record<string, unknown>): void;
}

/** The one rule for who receives an alert push. */
export function mayReceiveAlert(p: Principal | null, orgId: string): p is Principal {
  return !!p && p.orgId === orgId && p.permissions.has('alerts:read');
}

/**
 * A published alert row may not be committed yet (publishIn delivers to this process at once,
 * inside the raising transaction): re-read until it is (about 30 s in all; a rolled-back
 * transaction leaves no row, and no push).
 */
const READ_DELAYS_MS = [0, 25, 50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000];

export class AlertPushes {
  private readonly sockets = new Set<AlertSocket>();
  private readonly unsubscribe: () => void;
  private closed = false;
  /** Pushes under way (tests wait for them). */
  readonly pending = new Set<Promise<void>>();

  constructor(private readonly db: Db, bus: EventBus, private readonly onAlert: () => void = () => {}) {
    this.unsubscribe = bus.subscribe('alert', (m) => {
      this.onAlert();
      const p = this.fanOut(m.orgId, m.alertId).catch((err: unknown) => reportBackgroundFailure('alerts: pushing to the console', err));
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    });
  }

  attach(socket: AlertSocket): () => void {
    this.sockets.add(socket);
    return () => this.sockets.delete(socket);
  }

  private async fanOut(orgId: string, alertId: string): Promise<void> {
    if (![...this.sockets].some((s) => mayReceiveAlert(s.current(), orgId))) return;
    let alert: AlertView | undefined;
    for (const ms of READ_DELAYS_MS) {
      if (ms) await new Promise((r) => setTimeout(r, ms).unref()); // never holds the process open
      if (this.closed) return;
      alert = (await alertViews(this.db, orgId, { id: alertId }))[0];
      if (alert) break;
    }
    if (!alert) return; // its transaction rolled back: there is no alert
    for (const s of this.sockets) if (mayReceiveAlert(s.current(), orgId)) s.send({ type: 'alert', alert });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.sockets.clear();
  }
}
