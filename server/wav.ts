// The one WAV writer of the gateway: the 44-byte RIFF/WAVE header of 16-bit PCM (recordings
// served on playback, server/recordings/audio.ts; the queue's greeting + music loop,
// server/sip/announcements.ts).

/** The RIFF/WAVE header of `dataBytes` bytes of 16-bit little-endian PCM. */
export function pcm16WavHeader(dataBytes: number, channels: number, sampleRate: number): Buffer {
  const blockAlign = channels * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
