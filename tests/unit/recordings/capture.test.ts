// The recorder's pieces that need no rtpengine (server/recordings/capture.ts, service.ts):
// RTP placement by timestamp (in order, reordered, lost, late, hostile packets), the
// subscription answer, and secure-capture blanking on the recording's timeline.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { channel, decodeG711, encodeUlaw, interleave } from '../../../server/recordings/audio';
import { answerSdp, Channel, offerMedia } from '../../../server/recordings/capture';
import { decryptFile, KeyRing, RecordingWriter } from '../../../server/recordings/format';
import { ActiveRecording } from '../../../server/recordings/service';

const dir = mkdtempSync(join(tmpdir(), 'koe-rec-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An RTP packet: PCMU of `samples` starting at timestamp ts. */
function rtp(seq: number, ts: number, samples: number[], opts: { pt?: number; ssrc?: number; version?: number } = {}): Buffer {
  const p = Buffer.alloc(12 + samples.length);
  p[0] = (opts.version ?? 2) << 6;
  p[1] = opts.pt ?? 0;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(opts.ssrc ?? 0x1234, 8);
  samples.forEach((s, i) => (p[12 + i] = encodeUlaw(s)));
  return p;
}
const frame = (k: number) => Array.from({ length: 160 }, (_, i) => ((k * 160 + i) % 200) * 100 - 10_000);
const decoded = (k: number) => Array.from(decodeG711(Buffer.from(frame(k).map(encodeUlaw)), 0));

describe('RTP placement', () => {
  it('in order and reordered give the same stream; a lost packet is silence; a late one is dropped', () => {
    const inOrder = new Channel();
    const shuffled = new Channel();
    const base = 0xfffff000; // the timestamp wraps during the test
    for (let k = 0; k < 10; k++) inOrder.put(rtp(k, base + k * 160, frame(k)), 0, 0);
    for (const k of [0, 2, 1, 4, 3, 6, 5, 9, 8, 7]) shuffled.put(rtp(k, base + k * 160, frame(k)), 0, 0);
    expect(Array.from(shuffled.take(0, 1600))).toEqual(Array.from(inOrder.take(0, 1600)));
    const lossy = new Channel();
    for (const k of [0, 1, 3]) lossy.put(rtp(k, 1000 + k * 160, frame(k)), 0, 0);
    const out = Array.from(lossy.take(0, 640));
    expect(out.slice(0, 160)).toEqual(decoded(0));
    expect(out.slice(320, 480).every((x) => x === 0)).toBe(true);
    expect(out.slice(480, 640)).toEqual(decoded(3));
    // packet 2 arrives after its samples were written: dropped, never written over later audio
    lossy.put(rtp(2, 1000 + 2 * 160, frame(2)), 700, 640);
    expect(Array.from(lossy.take(640, 160)).every((x) => x === 0)).toBe(true);
  });

  it('hostile packets are counted and dropped, never thrown', () => {
    const c = new Channel();
    const bad = [
      Buffer.alloc(0), Buffer.alloc(11), rtp(1, 0, frame(0), { version: 1 }), rtp(1, 0, frame(0), { pt: 101 }), rtp(1, 0, frame(0), { pt: 96 }),
      (() => { const p = rtp(1, 0, frame(0)); p[0]! |= 0x10; p.writeUInt16BE(0xffff, 14); return p; })(), // extension longer than the packet
      (() => { const p = rtp(1, 0, frame(0)); p[0]! |= 0x20; p[p.length - 1] = 255; return p; })(), // padding longer than the payload
      (() => { const p = rtp(1, 0, []); return p; })(), // no payload
      (() => { const p = rtp(1, 0, frame(0)); p[0]! |= 0x0f; return p.subarray(0, 40); })(), // 15 CSRCs in 40 bytes
      ...Array.from({ length: 200 }, () => randomBytes(Math.floor(Math.random() * 300))),
    ];
    for (const p of bad) expect(() => c.put(p, 0, 0)).not.toThrow();
    expect(c.dropped).toBeGreaterThanOrEqual(9);
  });

  it('a new SSRC or a timestamp jump re-anchors at now instead of writing far away', () => {
    const c = new Channel();
    c.put(rtp(0, 5000, frame(0)), 0, 0);
    c.put(rtp(1, 5000 + 160 * 100_000, frame(1)), 320, 0); // a jump of 200 s: placed at now (320)
    const out = Array.from(c.take(0, 480));
    expect(out.slice(320, 480)).toEqual(decoded(1));
    c.put(rtp(0, 99, frame(2), { ssrc: 77 }), 800, 480);
    expect(Array.from(c.take(800, 160))).toEqual(decoded(2));
  });
});

describe('subscription answer', () => {
  it('echoes every offered payload type with its rtpmap, and the mids, toward our ports', () => {
    const offer = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=x', 't=0 0', 'm=audio 4000 RTP/AVP 8 0 101', 'c=IN IP4 127.0.0.1', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendonly',
      'm=audio 4002 RTP/AVP 0 101', 'a=mid:1', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly', ''].join('\r\n');
    const media = offerMedia(offer);
    expect(media.map((m) => [m.payloadTypes, m.mid])).toEqual([[[8, 0, 101], null], [[0, 101], '1']]);
    const answer = answerSdp('127.0.0.1', [5000, 5002], media);
    expect(answer).toContain('m=audio 5000 RTP/AVP 8 0 101\r\n');
    expect(answer).toContain('a=fmtp:101 0-16');
    expect(answer).toContain('m=audio 5002 RTP/AVP 0 101\r\na=mid:1\r\n');
    expect(answer.match(/a=recvonly/g)).toHaveLength(2);
    expect(answer).not.toMatch(/sendonly|a=ice|a=crypto/);
  });
});

describe('secure capture on the timeline', () => {
  it('blanks exactly the samples between the presses, whatever the write boundaries; the gap says where', async () => {
    const id = randomUUID();
    const keys = new KeyRing([{ id: 'k', key: randomBytes(32) }]);
    const { writer, kekId, wrappedKey } = await RecordingWriter.create(join(dir, `${id}.koerec`), id, keys, 3200);
    const a = new ActiveRecording(id, randomUUID(), 'c@x', writer);
    const n = 8000 * 3;
    const loud = interleave(Int16Array.from({ length: n }, () => 1000), Int16Array.from({ length: n }, () => -1000));
    // pressed at sample 8000 (1 s) while only 0.5 s is written, released at 1.5 s + 3 samples
    a.push(loud.subarray(0, 4000 * 4));
    a.pause(8000);
    for (let at = 4000; at < n; at += 333) {
      if (at + 333 > 12_003 && a.paused) a.resume(12_003); // released before that span is written (the writer runs behind "now")
      a.push(loud.subarray(at * 4, Math.min(n, at + 333) * 4), at);
    }
    const gaps = a.closeGaps();
    await writer.finish();
    expect(gaps).toEqual([{ startMs: 1000, endMs: 1500, reason: 'secure_capture' }]);
    const pcm = await decryptFile(join(dir, `${id}.koerec`), id, kekId, wrappedKey, keys);
    const left = channel(pcm, 0);
    const right = channel(pcm, 1);
    for (let i = 0; i < n; i++) {
      const blank = i >= 8000 && i < 12_003;
      if ((left[i] === 0) !== blank || (right[i] === 0) !== blank) throw new Error(`sample ${i}: ${left[i]}/${right[i]}, blank expected ${blank}`);
    }
  });
});

describe('DTMF masking in the metadata', () => {
  it('every span the mask silences becomes a gap with reason dtmf, merged, in order with the secure-capture gaps', async () => {
    const id = randomUUID();
    const keys = new KeyRing([{ id: 'k', key: randomBytes(32) }]);
    const { writer } = await RecordingWriter.create(join(dir, `${id}.koerec`), id, keys, 3200);
    const a = new ActiveRecording(id, randomUUID(), 'c@x', writer);
    const customer = new Channel();
    const operator = new Channel();
    // 3 s of voice-like audio from both; the customer keys a digit by RFC 4733 at 1 s (100 ms), and again at 2.5 s
    for (let k = 0; k < 150; k++) {
      customer.put(rtp(k, k * 160, frame(k)), k * 160, 0);
      operator.put(rtp(k, k * 160, frame(k + 3), { ssrc: 9 }), k * 160, 0);
    }
    const event = (ts: number, duration: number) => {
      const p = Buffer.alloc(16);
      p[0] = 2 << 6;
      p[1] = 101;
      p.writeUInt32BE(ts, 4);
      p.writeUInt32BE(0x1234, 8);
      p[12] = 1;
      p[13] = 0x80 | 10;
      p.writeUInt16BE(duration, 14);
      return p;
    };
    customer.put(event(8000, 800), 8000, 0);
    customer.put(event(20_000, 400), 20_000, 0);
    a.pause(16_000);
    a.resume(17_000);
    // written in odd blocks, as the recorder's tick does: drain each channel's masked spans into the recording
    for (let from = 0; from < 24_000; from += 777) {
      const n = Math.min(777, 24_000 - from);
      const pcm = interleave(customer.take(from, n), operator.take(from, n));
      for (const c of [customer, operator]) for (const m of c.dtmf.drain()) a.masked(m.start, m.end);
      a.push(pcm, from);
    }
    const gaps = a.closeGaps();
    await writer.finish();
    // a 20 ms guard either side of each event: [7840, 8960) and [19840, 20560) samples
    expect(gaps).toEqual([
      { startMs: 980, endMs: 1120, reason: 'dtmf' },
      { startMs: 2000, endMs: 2125, reason: 'secure_capture' },
      { startMs: 2480, endMs: 2570, reason: 'dtmf' },
    ]);
    expect(customer.dtmf.drain()).toEqual([]);
    // spans in any order (two channels, event spans after in-band frames) are merged and sorted
    const cid = randomUUID();
    const c = new ActiveRecording(cid, randomUUID(), 'e@x', (await RecordingWriter.create(join(dir, `${cid}.koerec`), cid, keys, 3200)).writer);
    c.push(interleave(new Int16Array(16_000), new Int16Array(16_000)));
    for (const [x, y] of [[8000, 8800], [800, 1600], [1200, 2400], [12_000, 12_800], [8400, 9600], [0, 400]]) c.masked(x!, y!);
    expect(c.closeGaps()).toEqual([
      { startMs: 0, endMs: 50, reason: 'dtmf' }, { startMs: 100, endMs: 300, reason: 'dtmf' }, { startMs: 1000, endMs: 1200, reason: 'dtmf' }, { startMs: 1500, endMs: 1600, reason: 'dtmf' },
    ]);
    // nothing masked: no dtmf gap; an empty or inverted span is ignored
    const bid = randomUUID();
    const b = new ActiveRecording(bid, randomUUID(), 'd@x', (await RecordingWriter.create(join(dir, `${bid}.koerec`), bid, keys, 3200)).writer);
    b.masked(100, 100);
    b.masked(200, 50);
    b.push(interleave(new Int16Array(800), new Int16Array(800)));
    expect(b.closeGaps()).toEqual([]);
  });
});
