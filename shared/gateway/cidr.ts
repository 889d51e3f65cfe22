// CIDR syntax check without Node: IPv4 a.b.c.d/n or IPv6 (hex groups, ::, embedded v4)/n.
// The gateway parses them again with ipaddr.js; this only keeps junk out of stored policy.
import { z } from 'zod';

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V6 = /^[0-9a-fA-F:.]{2,45}$/;

export function isCidr(value: string): boolean {
  const [addr, bits, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const isV4 = V4.test(addr);
  const isV6 = !isV4 && V6.test(addr) && addr.includes(':');
  if (!isV4 && !isV6) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (isV4 ? 32 : 128);
}

export const Cidr = z.string().max(64).refine(isCidr, { message: 'not an IPv4/IPv6 address or CIDR' });
