// A fake audio graph for the local conference mix's tests (renderer/src/features/phone/conference-mix.ts):
// it records which source is connected to which destination, so a test can say what each
// leg's sender carries.
import type { MixContext, MixDestination, MixNode, MixTrack } from '../../renderer/src/features/phone/conference-mix';

export class Track implements MixTrack {
  kind = 'audio';
  enabled = true;
  readyState = 'live';
  constructor(readonly name: string) {}
  stop() {
    this.readyState = 'ended';
  }
}

/** A graph that records its edges: node names, "source:<track>" and "dest:<n>". */
export class Graph implements MixContext {
  state = 'suspended';
  closed = false;
  edges = new Set<string>();
  private n = 0;
  readonly dests: (MixDestination & { name: string; track: Track })[] = [];
  async resume() {
    this.state = 'running';
  }
  async close() {
    this.closed = true;
    this.state = 'closed';
  }
  node(name: string): MixNode & { name: string } {
    const g = this;
    return {
      name,
      connect(to: MixNode) {
        g.edges.add(`${name}->${(to as unknown as { name: string }).name}`);
        return to;
      },
      disconnect() {
        for (const e of [...g.edges]) if (e.startsWith(`${name}->`) || e.endsWith(`->${name}`)) g.edges.delete(e);
      },
    };
  }
  createMediaStreamSource(stream: unknown): MixNode {
    return this.node(`source:${(stream as { track: Track }).track.name}#${++this.n}`);
  }
  createMediaStreamDestination(): MixDestination {
    const name = `dest:${this.dests.length}`;
    const track = new Track(`mix${this.dests.length}`);
    const d = { ...this.node(name), name, track, stream: { getAudioTracks: () => [track] } };
    this.dests.push(d);
    return d;
  }
  /** Which tracks feed the destination whose track a sender carries. */
  heardOn(track: MixTrack | null): string[] {
    const d = this.dests.find((x) => x.track === track);
    if (!d) return [];
    return [...this.edges].filter((e) => e.endsWith(`->${d.name}`)).map((e) => e.split('->')[0]!.replace(/^source:/, '').replace(/#\d+$/, '')).sort();
  }
}

export class Sender {
  replaced: (MixTrack | null)[] = [];
  failOn: MixTrack | null | 'any' = null;
  constructor(public track: MixTrack | null) {}
  async replaceTrack(t: MixTrack | null) {
    if (this.failOn === 'any' || (this.failOn !== null && this.failOn === t)) throw new Error('replaceTrack refused');
    this.replaced.push(t);
    this.track = t;
  }
}

