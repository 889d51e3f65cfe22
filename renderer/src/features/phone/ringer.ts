// What rings: the ringtone on the chosen speaker and the OS notification of each ringing call.
import { logFailure } from '../../log';
import { Ringtone } from './ringtone';
import type { CallInfo } from './sip-phone';

/** Copy for the OS notification (i18n lives in React; the telephony object gets plain strings). */
export type NotificationText = (call: CallInfo) => { title: string; body: string };

export class Ringer {
  private readonly ringtone = new Ringtone();
  private readonly notifications = new Map<string, Notification>();

  constructor(private readonly text: () => NotificationText | undefined) {}

  /** Readies the ringtone ahead of the first call (ringtone.ts warm()). */
  warm(): void {
    this.ringtone.warm();
  }

  /** `sinkId`: the ringer device (microphone.ts ringerSink), null for the system default. */
  start(info: CallInfo, sinkId: string | null): void {
    this.ringtone.start(sinkId);
    this.notify(info);
  }

  /** The ringer device changed: a ring going on moves there. */
  moveTo(sinkId: string | null): void {
    this.ringtone.moveTo(sinkId);
  }

  /** The call was answered or ended: its ring and its notification go. */
  stop(id: string): void {
    this.ringtone.stop();
    this.notifications.get(id)?.close();
    this.notifications.delete(id);
  }

  /** Every ring and notification goes (the session ended, or the phone stopped). */
  stopAll(): void {
    this.ringtone.stop();
    for (const n of this.notifications.values()) n.close();
    this.notifications.clear();
  }

  private notify(info: CallInfo): void {
    const text = this.text();
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !text) return;
    try {
      const copy = text(info);
      const n = new Notification(copy.title, { body: copy.body, tag: info.sipCallId, silent: true });
      n.onclick = () => window.focus();
      this.notifications.set(info.id, n);
    } catch (err) {
      // A convenience: the ringing panel is the source of truth.
      logFailure('showing the OS notification of a ringing call', err);
    }
  }
}
