// The tray icon's images, drawn in code (no binary asset to keep in step with the states): one
// per agent state, at 16 px and 32 px (the 2x representation). Colour AND shape say the state,
// so it reads in a monochrome tray and for colour-blind operators (the tooltip says it in words):
//   ready                     a filled disc (green)
//   ringing, on a call        a filled disc with a white centre (amber ringing, red on a call)
//   wrap-up                   a filled disc with a white horizontal bar (blue)
//   not ready, break          a ring, hollow (grey-brown / purple)
//   offline (or signed out)   a grey ring with a diagonal stroke
// PNG encoding is the format's minimum: IHDR (RGBA 8 bit), one IDAT (zlib), IEND.
import { deflateSync } from 'node:zlib';
import type { AgentStateName } from '../../shared/rules/operator-model';

export type TrayState = AgentStateName;

export interface TrayIconImage {
  /** 16x16 PNG. */
  png: Buffer;
  /** 32x32 PNG (scale factor 2). */
  png2x: Buffer;
}

type Shape = 'disc' | 'disc-dot' | 'disc-bar' | 'ring' | 'ring-slash';
const LOOK: Record<TrayState, { rgb: [number, number, number]; shape: Shape }> = {
  ready: { rgb: [0x1b, 0x8a, 0x3c], shape: 'disc' },
  ringing: { rgb: [0xd9, 0x7a, 0x00], shape: 'disc-dot' },
  on_call: { rgb: [0xc6, 0x28, 0x28], shape: 'disc-dot' },
  wrap_up: { rgb: [0x1f, 0x5f, 0xbf], shape: 'disc-bar' },
  not_ready: { rgb: [0x8a, 0x5a, 0x2b], shape: 'ring' },
  break: { rgb: [0x6a, 0x3d, 0x9a], shape: 'ring' },
  offline: { rgb: [0x75, 0x75, 0x75], shape: 'ring-slash' },
};

/** Whether the pixel centre (x, y) of a `size` square is painted, and white (a cut-out) or the state's colour. */
function paint(shape: Shape, size: number, x: number, y: number): 'colour' | 'white' | null {
  const c = size / 2;
  const dx = x + 0.5 - c;
  const dy = y + 0.5 - c;
  const r = Math.hypot(dx, dy);
  const outer = size * 0.44;
  const inRing = r <= outer && r >= outer - size * 0.14;
  switch (shape) {
    case 'disc':
      return r <= outer ? 'colour' : null;
    case 'disc-dot':
      if (r <= size * 0.16) return 'white';
      return r <= outer ? 'colour' : null;
    case 'disc-bar':
      if (Math.abs(dy) <= size * 0.08 && Math.abs(dx) <= size * 0.26) return 'white';
      return r <= outer ? 'colour' : null;
    case 'ring':
      return inRing ? 'colour' : null;
    case 'ring-slash':
      // the diagonal from top right to bottom left, inside the ring
      if (r <= outer && Math.abs(dx + dy) <= size * 0.08) return 'colour';
      return inRing ? 'colour' : null;
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An RGBA PNG of `size` x `size` of the state's look. */
export function trayPng(state: TrayState, size: number): Buffer {
  const look = LOOK[state];
  const raw = Buffer.alloc(size * (1 + size * 4)); // each row: filter byte 0, then RGBA
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 4);
    for (let x = 0; x < size; x++) {
      const p = paint(look.shape, size, x, y);
      if (!p) continue; // transparent
      const [r, g, b] = p === 'white' ? [255, 255, 255] : look.rgb;
      raw.set([r, g, b, 255], row + 1 + x * 4);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bit, RGBA, deflate, no filter method beyond 0, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const cache = new Map<TrayState, TrayIconImage>();
/** The state's icon at 1x and 2x (drawn once per state). */
export function trayIcon(state: TrayState): TrayIconImage {
  let icon = cache.get(state);
  if (!icon) {
    icon = { png: trayPng(state, 16), png2x: trayPng(state, 32) };
    cache.set(state, icon);
  }
  return icon;
}
