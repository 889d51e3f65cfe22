// The session-event bus across gateway instances (issue 14): session events ride the
// `session` topic of the event bus (server/bus/event-bus.ts): this process's listeners hear an
// event at once, other instances once the publisher's transaction commits (revokeSessions
// publishes inside it). Derived events (sip_access_revoked, which the instance that made the
// cut publishes after writing it to sip_access_cuts) stay in this process.
// A listener learns whether the event came from another instance (`remote`): a consequence
// that must happen once (the SIP cut) is taken by the publishing instance only.
import type { Executor } from '../db/schema';
import { InProcessSessionEvents, type SessionEvent, type SessionEventListener, type SessionEvents } from '../session-events';
import type { EventBus } from './event-bus';
import type { TopicPayload } from './topics';

type Shared = TopicPayload<'session'>;

export class DurableSessionEvents implements SessionEvents {
  private readonly local = new InProcessSessionEvents();
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: EventBus) {
    this.unsubscribe = bus.subscribe('session', (e, d) => {
      if (!d.local) this.local.publish(e as SessionEvent, true);
    });
  }

  publish(event: SessionEvent): void {
    this.local.publish(event);
    if (event.kind !== 'sip_access_revoked') this.bus.publish('session', event as Shared);
  }

  async publishIn(tx: Executor, event: SessionEvent): Promise<void> {
    this.local.publish(event);
    if (event.kind !== 'sip_access_revoked') await this.bus.publishIn(tx, 'session', event as Shared);
  }

  subscribe(listener: SessionEventListener): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.unsubscribe();
  }
}
