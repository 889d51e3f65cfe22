// One recording being written (server/recordings/service.ts begin() / finish()): the recorder
// (./capture.ts) pushes PCM; secure capture blanks spans of it.
import type { z } from 'zod';
import type { RecordingGap } from '../../shared/gateway/recordings';
import { CHANNELS, SAMPLE_RATE } from './audio';
import type { RecordingWriter } from './format';

type Gap = z.infer<typeof RecordingGap>;

/**
 * One recording being written: the recorder pushes PCM; secure capture blanks a span of the
 * recording's timeline, from the sample position "now" when it was pressed to the one when
 * released (the recorder writes ~200 ms behind real time, so the blanking is applied to what
 * was spoken between the presses, not to what happened to be flushed then), and notes the gap.
 */
export class ActiveRecording {
  /** Blanked spans in samples; the last is open (end null) while paused. */
  private readonly blanks: { start: number; end: number | null }[] = [];
  /** Spans where a party's keypad digits were silenced (./dtmf.ts); merged with the last where they touch (all merged at close). */
  private readonly dtmf: { start: number; end: number }[] = [];

  constructor(
    readonly id: string,
    readonly callRowId: string,
    readonly sipCallId: string,
    readonly writer: RecordingWriter,
  ) {}

  /** Samples (per channel) written so far. */
  get position(): number {
    return Math.floor(this.writer.bytesWritten / (CHANNELS * 2));
  }

  get paused(): boolean {
    return this.blanks.length > 0 && this.blanks[this.blanks.length - 1]!.end === null;
  }

  /** Stereo s16le PCM starting at sample `from` (default: right after what was written); blanked spans become silence. */
  push(pcm: Buffer, from = this.position): void {
    const frames = Math.floor(pcm.length / 4);
    let out = pcm;
    for (const b of this.blanks) {
      const a = Math.max(b.start, from);
      const z = Math.min(b.end ?? Infinity, from + frames);
      if (a >= z) continue;
      if (out === pcm) out = Buffer.from(pcm);
      out.fill(0, (a - from) * 4, (z - from) * 4);
    }
    this.writer.write(out);
  }

  /** Blank from sample `at` on (the timeline's "now"; never before what is written already). */
  pause(at = this.position): void {
    if (!this.paused) this.blanks.push({ start: Math.max(at, this.position), end: null });
  }

  resume(at = this.position): void {
    const open = this.blanks[this.blanks.length - 1];
    if (open && open.end === null) open.end = Math.max(at, open.start);
  }

  /** A party's DTMF was silenced over samples [start, end) (the recorder, from ./dtmf.ts): a `dtmf` gap. */
  masked(start: number, end: number): void {
    if (!(end > start)) return;
    const last = this.dtmf[this.dtmf.length - 1];
    if (last && start >= last.start && start <= last.end) last.end = Math.max(last.end, end);
    else this.dtmf.push({ start: Math.max(0, start), end });
  }

  /**
   * The gaps in ms (start rounded up, end down: the span given is silent throughout), one still
   * open ending at the end; secure-capture pauses (both channels silent) and DTMF masking (the
   * keying party's channel silent), by start.
   */
  closeGaps(): Gap[] {
    this.resume(Math.max(this.position, this.blanks[this.blanks.length - 1]?.start ?? 0));
    const ms = (start: number, end: number, reason: Gap['reason']): Gap => ({
      startMs: Math.ceil((start * 1000) / SAMPLE_RATE), endMs: Math.floor((Math.min(end, this.position) * 1000) / SAMPLE_RATE), reason,
    });
    // the two channels' spans (and a block's event spans after its in-band frames) come in any order: sort, merge
    const dtmf: { start: number; end: number }[] = [];
    for (const d of [...this.dtmf].sort((a, b) => a.start - b.start)) {
      const last = dtmf[dtmf.length - 1];
      if (last && d.start <= last.end) last.end = Math.max(last.end, d.end);
      else dtmf.push({ ...d });
    }
    return [...this.blanks.map((b) => ms(b.start, b.end!, 'secure_capture')), ...dtmf.map((d) => ms(d.start, d.end, 'dtmf'))]
      .filter((g) => g.endMs > g.startMs)
      .sort((a, b) => a.startMs - b.startMs);
  }
}
