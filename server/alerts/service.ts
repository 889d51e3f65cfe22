// The alerts of one gateway process (issue 17): live pushes to the console's sockets and the
// webhook worker. A raised alert (bus topic `alert`) also wakes this process's worker, so a
// webhook goes out at once rather than at the next poll.
import type { EventBus } from '../bus/event-bus';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { AlertPushes } from './push';
import { WebhookKeys, WebhookWorker, type WebhookConfig } from './webhooks';

export class AlertService {
  readonly keys: WebhookKeys;
  readonly worker: WebhookWorker;
  readonly pushes: AlertPushes;

  constructor(db: Db, clock: Clock, bus: EventBus, cfg: WebhookConfig) {
    this.keys = new WebhookKeys(db, clock);
    this.worker = new WebhookWorker(db, clock, this.keys, cfg);
    this.pushes = new AlertPushes(db, bus, () => this.worker.kick());
  }

  start(): void {
    this.worker.start();
  }

  async close(): Promise<void> {
    this.pushes.close();
    await this.worker.close();
  }
}
