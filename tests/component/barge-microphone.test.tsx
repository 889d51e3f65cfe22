// A lead barges (the lead's voice mixed with the operator's microphone on the customer call's
// sender); the operator then chooses another microphone mid-call. The phone swaps whatever track
// the sender has for the new microphone, which dropped the lead's voice, and a later whisper or
// stop put the previous (closed) microphone back: the customer heard nobody. Now the barge is
// mixed again with the new microphone, and whisper puts the new one back.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OperatorSupervision } from '../../renderer/src/features/supervision/operator-client';

class Track {
  kind = 'audio';
  enabled = true;
  stopped = false;
  constructor(readonly name: string) {}
  stop() {
    this.stopped = true;
  }
}
/** Web Audio as the barge uses it: each destination's track says which sources reach it. */
class Ctx {
  closed = false;
  static made: Ctx[] = [];
  constructor() {
    Ctx.made.push(this);
  }
  async resume() {}
  async close() {
    this.closed = true;
  }
  createMediaStreamDestination() {
    const track = new Track('mix') as Track & { from: string[] };
    track.from = [];
    return { stream: { getAudioTracks: () => [track] }, track };
  }
  createMediaStreamSource(stream: { tracks: Track[] }) {
    return { connect: (dest: { track: { from: string[] } }) => (dest.track.from.push(...stream.tracks.map((t) => t.name)), dest) };
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
  Ctx.made = [];
});

describe('barge and a microphone chosen mid-call', () => {
  it('the lead\'s voice is mixed again with the new microphone; the previous one is closed; whisper puts the new one back', async () => {
    vi.stubGlobal('AudioContext', Ctx);
    vi.stubGlobal('MediaStream', class {
      constructor(readonly tracks: Track[]) {}
    });
    const oldMic = new Track('old mic');
    const sender = {
      track: oldMic as Track | null,
      async replaceTrack(t: Track | null) {
        this.track = t;
      },
    };
    const sup = new OperatorSupervision(() => sender as unknown as RTCRtpSender);
    const leg = { legId: 'l1', pc: { close() {} }, audio: null, leadTrack: new Track('lead'), mode: 'barge' as const, mix: null };
    const inner = sup as unknown as { leg: typeof leg; applyMode(l: typeof leg): Promise<void> };
    inner.leg = leg;
    await inner.applyMode(leg);
    expect((sender.track as Track & { from: string[] }).from).toEqual(['old mic', 'lead']);

    // the phone's device switch: the new microphone on the sender (in place of the mix), the mix track stopped
    const newMic = new Track('new mic');
    const mixTrack = sender.track!;
    await sender.replaceTrack(newMic);
    mixTrack.stop();
    await sup.microphoneChanged();
    expect((sender.track as Track & { from: string[] }).from).toEqual(['new mic', 'lead']);
    expect(oldMic.stopped).toBe(true);
    expect(Ctx.made[0]!.closed).toBe(true);

    // whisper: the customer gets the new microphone back, not the closed one
    leg.mode = 'whisper' as never;
    await inner.applyMode(leg);
    expect(sender.track).toBe(newMic);
    expect(newMic.stopped).toBe(false);
  });

  it('not barging: a new microphone changes nothing here', async () => {
    const sup = new OperatorSupervision(() => null);
    await expect(sup.microphoneChanged()).resolves.toBeUndefined();
  });
});
