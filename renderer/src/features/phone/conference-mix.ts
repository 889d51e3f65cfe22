// A three-way call mixed in the operator's softphone (issue 18 item 6): there is no conference
// bridge in this deployment, so the operator's client mixes. Each leg (the customer's call, the
// consultation call) sends the operator's microphone plus the OTHER leg's remote audio:
//
//   mic ──────────────┬──> dest A ──> sender of leg A (the customer hears the operator + B)
//   remote of leg B ──┘
//   mic ──────────────┬──> dest B ──> sender of leg B (the colleague hears the operator + A)
//   remote of leg A ──┘
//
// One AudioContext, one MediaStreamAudioSourceNode per source, one MediaStreamAudioDestinationNode
// per leg, RTCRtpSender.replaceTrack on each leg (no renegotiation). The operator hears both legs
// through each call's own <audio> element, as before. The operator's mute is the microphone
// track's `enabled` (a disabled track is silence in both mixes); a new microphone replaces the
// mic source in both mixes. When one leg ends the other gets the plain microphone back.
//
// Pure of the browser: the audio graph and the MediaStream constructor are injected (the unit
// test drives a fake graph; the app passes `new AudioContext()` and `new MediaStream([track])`).

import { logFailure } from '../../log';

/** The part of a MediaStreamTrack the mix uses. */
export interface MixTrack {
  readonly kind: string;
  enabled: boolean;
  readonly readyState?: string;
  stop(): void;
}

/** The part of an RTCRtpSender the mix uses. */
export interface MixSender {
  readonly track: MixTrack | null;
  replaceTrack(track: MixTrack | null): Promise<void>;
}

export interface MixNode {
  connect(node: MixNode): unknown;
  disconnect(): void;
}
export interface MixDestination extends MixNode {
  readonly stream: { getAudioTracks(): MixTrack[] };
}
/** The part of an AudioContext the mix uses. */
export interface MixContext {
  readonly state: string;
  createMediaStreamSource(stream: unknown): MixNode;
  createMediaStreamDestination(): MixDestination;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface MixDeps {
  context(): MixContext;
  /** A MediaStream of one track (what a MediaStreamAudioSourceNode is made from). */
  streamOf(track: MixTrack): unknown;
}

/** One call in the conference: its id, the sender carrying our audio, and the track of what the far party says. */
export interface MixLeg {
  id: string;
  sender: MixSender;
  remote: MixTrack | null;
}

interface LegMix {
  leg: MixLeg;
  /** The track the sender had before the conference (a microphone). */
  original: MixTrack | null;
  dest: MixDestination;
  /** The other leg's remote audio, in this leg's mix. */
  other: MixNode | null;
}

export class ConferenceMix {
  private micSource: MixNode;
  private ended = false;

  private constructor(
    private readonly ctx: MixContext,
    private readonly deps: MixDeps,
    private readonly legs: LegMix[],
    /** The operator's microphone feeding both mixes (its `enabled` is the operator's mute). */
    private micTrack: MixTrack,
  ) {
    this.micSource = ctx.createMediaStreamSource(deps.streamOf(micTrack));
    for (const l of legs) this.micSource.connect(l.dest);
  }

  /**
   * Builds both mixes and puts them on the senders. A failure (no microphone track, a refused
   * replaceTrack) undoes what was done: both senders carry what they carried before, and the
   * error is thrown.
   */
  static async start(legs: [MixLeg, MixLeg], deps: MixDeps): Promise<ConferenceMix> {
    const mic = legs[0].sender.track ?? legs[1].sender.track;
    if (!mic || mic.kind !== 'audio') throw new Error('no microphone track on either call');
    const ctx = deps.context();
    const built: LegMix[] = [];
    let mix: ConferenceMix | null = null;
    const replaced: LegMix[] = [];
    try {
      for (const [i, leg] of legs.entries()) {
        const dest = ctx.createMediaStreamDestination();
        const remote = legs[1 - i]!.remote;
        const other = remote ? ctx.createMediaStreamSource(deps.streamOf(remote)) : null;
        other?.connect(dest);
        built.push({ leg, original: leg.sender.track, dest, other });
      }
      mix = new ConferenceMix(ctx, deps, built, mic);
      // started from the operator's click: the context may still need its resume
      if (ctx.state !== 'running') await ctx.resume();
      for (const l of built) {
        const track = l.dest.stream.getAudioTracks()[0];
        if (!track) throw new Error('the mix has no audio track');
        await l.leg.sender.replaceTrack(track);
        replaced.push(l);
      }
      return mix;
    } catch (err) {
      for (const l of replaced) await l.leg.sender.replaceTrack(l.original).catch((e: unknown) => logFailure('putting a call\'s own microphone back after a failed join', e));
      for (const l of built) {
        l.other?.disconnect();
        l.dest.disconnect();
      }
      mix?.micSource.disconnect();
      await ctx.close().catch((e: unknown) => logFailure('closing the audio graph of a failed join', e));
      throw err;
    }
  }

  get ids(): string[] {
    return this.legs.map((l) => l.leg.id);
  }

  has(id: string): boolean {
    return this.legs.some((l) => l.leg.id === id);
  }

  get mic(): MixTrack {
    return this.micTrack;
  }

  /** The operator's mute, in both mixes. */
  setMuted(muted: boolean): void {
    this.micTrack.enabled = !muted;
  }

  /**
   * A new microphone (a device switch mid-conference): it replaces the mic source in both
   * mixes; it keeps the mute; the old microphone is stopped (it would keep the device open).
   */
  replaceMic(track: MixTrack): void {
    if (this.ended) return;
    const old = this.micTrack;
    track.enabled = old.enabled;
    const source = this.ctx.createMediaStreamSource(this.deps.streamOf(track));
    for (const l of this.legs) source.connect(l.dest);
    this.micSource.disconnect();
    this.micSource = source;
    this.micTrack = track;
    if (old !== track) old.stop();
  }

  /**
   * The conference is over: `goneId`'s call ended. The other leg gets the plain microphone back
   * (with the mute it had; it owns that track from now on: its own end stops it), the graph is
   * closed, and a microphone no sender carries any more is stopped.
   */
  async end(goneId: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    let failure: unknown = null;
    const kept = new Set<MixTrack>();
    for (const l of this.legs) {
      if (l.leg.id === goneId) continue;
      try {
        await l.leg.sender.replaceTrack(this.micTrack);
        kept.add(this.micTrack);
      } catch (err) {
        failure = err;
      }
    }
    for (const l of this.legs) {
      l.other?.disconnect();
      l.dest.disconnect();
      for (const t of l.dest.stream.getAudioTracks()) t.stop();
      if (l.original && !kept.has(l.original)) l.original.stop();
    }
    this.micSource.disconnect();
    await this.ctx.close();
    if (failure) throw failure;
  }
}
