// The ringtone: a Web Audio oscillator (Japanese ring-back style cadence, 1 s on / 2 s off, with
// a 16 Hz warble), so no audio file or media-src exception is needed. Autoplay may refuse to
// start an AudioContext without a user gesture; the ringing panel and the OS notification
// still show, and the ring starts with the operator's next click.
import { bestEffort, logFailure } from '../../log';

export class Ringtone {
  private ctx: AudioContext | null = null;
  private stopFn: (() => void) | null = null;

  /**
   * Makes the AudioContext ahead of the first ring (the phone registered): making one takes
   * 100 ms and more, which on the INVITE's path would hold back the ringing panel's paint. It
   * stays suspended (no audio thread running) until a ring resumes it.
   */
  warm(): void {
    if (this.ctx || typeof AudioContext === 'undefined') return;
    try {
      this.ctx = new AudioContext();
    } catch (err) {
      // no audio output here: the ring tries again when a call comes (the panel shows regardless)
      logFailure('making the ringtone ahead of the first call', err);
      return;
    }
    void bestEffort('suspending the ringtone until a call rings', this.ctx.suspend());
  }

  /** The ringer device: a device id, or null for the system default. */
  start(sinkId: string | null): void {
    if (this.stopFn || typeof AudioContext === 'undefined') return;
    const ctx = (this.ctx ??= new AudioContext());
    const sinkable = ctx as AudioContext & { setSinkId?: (id: string) => Promise<void>; sinkId?: unknown };
    // '' is the system default; a context already there (the previous ring's device) is moved back
    const want = sinkId ?? '';
    if (sinkable.setSinkId && (sinkable.sinkId ?? '') !== want) void bestEffort('ringing on the chosen ringer device', sinkable.setSinkId(want));
    // refused without a user gesture (autoplay): logged, and the ring starts at the next click
    void bestEffort('starting the ringtone', ctx.resume());
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(ctx.destination);
    const carrier = ctx.createOscillator();
    carrier.frequency.value = 400;
    const warble = ctx.createOscillator();
    warble.frequency.value = 16;
    const depth = ctx.createGain();
    depth.gain.value = 0.08;
    warble.connect(depth).connect(gain.gain);
    carrier.connect(gain);
    const t0 = ctx.currentTime;
    for (let i = 0; i < 40; i++) {
      gain.gain.setValueAtTime(0.15, t0 + i * 3);
      gain.gain.setValueAtTime(0, t0 + i * 3 + 1);
    }
    carrier.start();
    warble.start();
    this.stopFn = () => {
      carrier.stop();
      warble.stop();
      gain.disconnect();
    };
  }

  /** The ringer device changed while ringing: the ring moves there. */
  moveTo(sinkId: string | null): void {
    const sinkable = this.ctx as (AudioContext & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (this.stopFn && sinkable?.setSinkId) void bestEffort('moving the ring to the chosen ringer device', sinkable.setSinkId(sinkId ?? ''));
  }

  stop(): void {
    this.stopFn?.();
    this.stopFn = null;
  }
}
