// The one rule for webhook target URLs (issue 17), used by the gateway's contract (create),
// by the console's form (same schema), and again by the gateway at delivery time on every
// address the host name resolves to (server/alerts/webhooks.ts), so a name that resolves to
// a private address later (DNS rebinding) is refused when it is connected to, not only when
// it was saved.
//   - https only; http only to a loopback host (127.0.0.1, ::1, localhost) and only where the
//     gateway's config allows it (webhooks.allowLoopbackHttp: development and tests);
//   - no credentials in the URL, no fragment, at most 2048 characters;
//   - a literal address (or, at delivery, a resolved one) must be public: loopback, private
//     (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10: cloud metadata), CGNAT,
//     unspecified, multicast, reserved, documentation and IPv4-mapped forms of those are refused,
//     except loopback where loopback http/https is allowed.

export type WebhookUrlProblem = 'invalid' | 'not_https' | 'credentials' | 'private_target' | 'too_long';

export interface WebhookUrlOptions {
  /** Development and tests: http:// and https:// to 127.0.0.1 / ::1 / localhost are allowed. */
  allowLoopback: boolean;
}

function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((n) => n <= 255) ? parts : null;
}

/** 8 groups of 16 bits, or null. Accepts :: compression, a zone and a trailing dotted IPv4. */
function ipv6(host: string): number[] | null {
  let h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!h.includes(':')) return null;
  const zone = h.indexOf('%');
  if (zone >= 0) h = h.slice(0, zone);
  const lastColon = h.lastIndexOf(':');
  const last = h.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = ipv4(last);
    if (!v4) return null;
    h = `${h.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = h.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const back = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - back.length : 0;
  if (fill < 0 || (halves.length === 2 && fill === 0)) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...back];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

export type AddressClass = 'public' | 'loopback' | 'private' | 'invalid';

function classify4([a, b, c]: number[]): AddressClass {
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'private'; // link-local, cloud metadata
  if (a === 100 && b! >= 64 && b! <= 127) return 'private'; // CGNAT
  if (a === 0 || a! >= 224) return 'private'; // unspecified, multicast, reserved, broadcast
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'private'; // IETF, TEST-NET-1
  if ((a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'private';
  return 'public';
}

/** The class of an IP address literal (v4, v6, bracketed v6); 'invalid' when it is not one. */
export function addressClass(address: string): AddressClass {
  const v4 = ipv4(address);
  if (v4) return classify4(v4);
  const g = ipv6(address);
  if (!g) return 'invalid';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (g.every((x) => x === 0)) return 'private';
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96): the embedded v4 decides
  const embedded = [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff];
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return classify4(embedded);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classify4(embedded);
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private'; // unique local
  if ((g[0]! & 0xffc0) === 0xfe80) return 'private'; // link-local
  if ((g[0]! & 0xff00) === 0xff00) return 'private'; // multicast
  if (g[0] === 0x2001 && g[1] === 0x0db8) return 'private'; // documentation
  return 'public';
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

/** null when `raw` is an acceptable webhook URL, else why not. */
export function webhookUrlProblem(raw: string, opts: WebhookUrlOptions): WebhookUrlProblem | null {
  if (raw.length > 2048) return 'too_long';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'invalid'; // not a URL: the answer is the problem code itself
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'not_https';
  if (url.username || url.password) return 'credentials';
  if (url.hash) return 'invalid';
  const host = url.hostname.toLowerCase();
  if (!host) return 'invalid';
  const cls = LOOPBACK_NAMES.has(host) || host.endsWith('.localhost') ? 'loopback' : addressClass(host);
  if (cls === 'loopback') return opts.allowLoopback ? null : 'private_target';
  if (url.protocol !== 'https:') return 'not_https';
  if (cls === 'private') return 'private_target';
  // a name (not a literal): checked again on every resolved address at delivery
  if (cls === 'invalid' && (host.endsWith('.local') || host.endsWith('.internal') || !host.includes('.'))) return 'private_target';
  return null;
}

/** Whether a resolved address may be connected to (delivery time, after DNS). */
export function deliverableAddress(address: string, opts: WebhookUrlOptions): boolean {
  const cls = addressClass(address);
  return cls === 'public' || (cls === 'loopback' && opts.allowLoopback);
}
