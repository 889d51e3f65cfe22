// Source address and IP allowlists. X-Forwarded-For is believed only when the socket peer
// is a configured trusted proxy; then the right-most address that is not itself a trusted
// proxy is the client (left-most entries are whatever the client chose to send).
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** The address, or null for text that is not one (checked first: parse throws on nothing else). */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const trimmed = text.trim();
  if (!ipaddr.isValid(trimmed)) return null;
  const addr = ipaddr.parse(trimmed);
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

/** An address as the gateway writes it (clientAddress: ipaddr.js text, IPv4-mapped as IPv4); other text unchanged. */
export function normalAddress(text: string): string {
  return parseAddress(text)?.toString() ?? text.trim();
}

export function parseRange(cidr: string): Range {
  if (cidr.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)];
    }
    return [addr, bits];
  }
  const addr = parseAddress(cidr);
  if (!addr) throw new Error(`not an address: ${cidr}`);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

export function inRanges(address: string, ranges: Range[]): boolean {
  const addr = parseAddress(address);
  if (!addr) return false;
  return ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net as never, bits));
}

/** True when the list is empty (no restriction) or the address is inside one of its CIDRs. */
export function allowedBy(address: string, cidrs: string[]): boolean {
  if (cidrs.length === 0) return true;
  return inRanges(address, cidrs.map(parseRange));
}

export function clientAddress(socketAddress: string, forwardedFor: string | undefined, trustedProxies: Range[]): string {
  const peer = parseAddress(socketAddress)?.toString() ?? socketAddress;
  if (!forwardedFor || trustedProxies.length === 0 || !inRanges(peer, trustedProxies)) return peer;
  const hops = forwardedFor.split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i]!);
    if (!hop) return peer; // garbage in the header: do not guess
    const text = hop.toString();
    if (!inRanges(text, trustedProxies)) return text;
  }
  return peer;
}
