// One party's RTP in the recorder (./capture.ts): G.711 placed on the recording's timeline by
// RTP timestamp (loss -> silence, a late packet is dropped) in a ring the writer takes from;
// DTMF (telephone-events and in-band tones) is silenced on the way out (./dtmf.ts).
import { decodeG711, SAMPLE_RATE } from './audio';
import { DtmfMask } from './dtmf';

export const RING = SAMPLE_RATE * 4; // 4 s per channel

/** One party's RTP, placed on the recording's timeline by RTP timestamp. */
export class Channel {
  readonly ring = new Int16Array(RING);
  private baseTs: number | null = null;
  private basePos = 0;
  ssrc: number | null = null;
  packets = 0;
  dropped = 0;
  /** Packets that arrived after their place was written (a hole in the recording). */
  late = 0;
  /** Highest sample position written + 1. */
  high = 0;
  /** Keypad digits never reach the recording. */
  readonly dtmf = new DtmfMask();

  /** An RTP packet (G.711) arriving when the recording's timeline is at `now` samples, written up to `flushed`. */
  put(pkt: Buffer, now: number, flushed: number): void {
    if (pkt.length < 12 || pkt[0]! >> 6 !== 2) return void this.dropped++;
    const pt = pkt[1]! & 0x7f;
    // comfort noise, unknown static types: not audio we decode; dynamic types: telephone-events (masked below)
    if (pt !== 0 && pt !== 8 && pt < 96) return void this.dropped++;
    const cc = pkt[0]! & 0x0f;
    let off = 12 + cc * 4;
    if (pkt[0]! & 0x10) {
      if (pkt.length < off + 4) return void this.dropped++;
      off += 4 + pkt.readUInt16BE(off + 2) * 4;
    }
    let end = pkt.length;
    if (pkt[0]! & 0x20) end -= pkt[pkt.length - 1]!; // padding
    if (off >= end) return void this.dropped++;
    const ts = pkt.readUInt32BE(4);
    const ssrc = pkt.readUInt32BE(8);
    if (this.baseTs === null || ssrc !== this.ssrc) {
      // first packet, or a new source (re-INVITE, transfer): placed at "now"
      this.baseTs = ts;
      this.basePos = now;
      this.ssrc = ssrc;
    }
    let pos = this.basePos + ((ts - this.baseTs) | 0);
    if (pos < flushed - SAMPLE_RATE || pos > now + RING / 2) {
      // a timestamp jump (the far end restarted its clock): re-anchor at now
      this.baseTs = ts;
      this.basePos = now;
      pos = now;
    }
    if (pt !== 0 && pt !== 8) {
      if (!this.dtmf.event(pkt.subarray(off, end), pos)) this.dropped++;
      return;
    }
    const samples = decodeG711(pkt.subarray(off, end), pt);
    if (pos < flushed) this.late++;
    for (let i = 0; i < samples.length; i++) {
      const p = pos + i;
      if (p < flushed || p >= flushed + RING) continue; // too late (already written) or too far ahead
      this.ring[p % RING] = samples[i]!;
    }
    this.high = Math.max(this.high, pos + samples.length);
    this.packets++;
  }

  /** Samples [from, from + n) of the timeline, DTMF silenced; their place in the ring is cleared. */
  take(from: number, n: number): Int16Array {
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(from + i) % RING]!;
    this.dtmf.apply(out, from, this.ring, RING);
    for (let i = 0; i < n; i++) this.ring[(from + i) % RING] = 0;
    return out;
  }
}
