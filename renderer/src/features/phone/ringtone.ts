// The ringtone: a Web Audio oscillator (Japanese ring-back style cadence, 1 s on / 2 s off, with
// a 16 Hz warble), so no audio file or media-src exception is needed. Autoplay may refuse to
// start an AudioContext without a user gesture; the ringing panel and the OS notification
// still show, and the ring starts with the operator's next click.
import { bestEffort } from '../../log';

export class Ringtone {
  private ctx: AudioContext | null = null;
  private stopFn: (() => void) | null = null;

  start(sinkId: string | null): void {
    if (this.stopFn || typeof AudioContext === 'undefined') return;
    const ctx = (this.ctx ??= new AudioContext());
    const sinkable = ctx as AudioContext & { setSinkId?: (id: string) => Promise<void> };
    if (sinkId && sinkable.setSinkId) void bestEffort('ringing on the chosen speaker', sinkable.setSinkId(sinkId));
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

  stop(): void {
    this.stopFn?.();
    this.stopFn = null;
  }
}
