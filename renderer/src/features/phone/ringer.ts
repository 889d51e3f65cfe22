// What rings: the ringtone on the ringer device, and main told of each ringing call (it alerts the
// operator through the OS when the window is not in front: main/services/ring-alert.ts). Where
// main cannot (the dev host's browser), the renderer's own notification stands in.
import { koe } from '../../koe';
import { bestEffort, logFailure } from '../../log';
import { Ringtone } from './ringtone';
import type { CallInfo } from './sip-phone';

/** Copy for the OS notification (i18n lives in React; the telephony object gets plain strings). */
export type NotificationText = (call: CallInfo) => { title: string; body: string };

export class Ringer {
  private readonly ringtone = new Ringtone();
  private readonly notifications = new Map<string, Notification>();
  /** The calls ringing now: the phone's id -> the SIP Call-ID main knows them by. */
  private readonly ringing = new Map<string, string>();

  constructor(private readonly text: () => NotificationText | undefined) {}

  /** Readies the ringtone ahead of the first call (ringtone.ts warm()). */
  warm(): void {
    this.ringtone.warm();
  }

  /** `sinkId`: the ringer device (microphone.ts ringerSink), null for the system default. */
  start(info: CallInfo, sinkId: string | null): void {
    this.ringtone.start(sinkId);
    this.ringing.set(info.id, info.sipCallId);
    void this.tellMain(info);
  }

  /** The ringer device changed: a ring going on moves there. */
  moveTo(sinkId: string | null): void {
    this.ringtone.moveTo(sinkId);
  }

  /** The call was answered or ended: its ring and its notification go. */
  stop(id: string): void {
    this.ringtone.stop();
    this.endRing(id);
    this.notifications.get(id)?.close();
    this.notifications.delete(id);
  }

  /** Every ring and notification goes (the session ended, or the phone stopped). */
  stopAll(): void {
    this.ringtone.stop();
    for (const id of [...this.ringing.keys()]) this.endRing(id);
    for (const n of this.notifications.values()) n.close();
    this.notifications.clear();
  }

  private async tellMain(info: CallInfo): Promise<void> {
    const r = await bestEffort('telling main a call rings', () => koe().phone.ringing({ callId: info.sipCallId, ringing: true, caller: info.remote || null }));
    // main could not be told (the dev host): the renderer's notification; a ring already over: none
    if (r && !r.ok && this.ringing.has(info.id)) this.notify(info);
  }

  private endRing(id: string): void {
    const callId = this.ringing.get(id);
    this.ringing.delete(id);
    if (callId) void bestEffort('telling main a ring ended', () => koe().phone.ringing({ callId, ringing: false, caller: null }));
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
