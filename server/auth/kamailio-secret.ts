// The routes Kamailio calls (the routing query, transfer reports, call-ended notifications) are
// authenticated by a shared secret header, not a user token: X-Koe-Route-Secret must equal
// config sip.routeSecret, compared in constant time (digests of equal length). No secret
// configured: every such request is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config';
import { GatewayError } from '../errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function assertFromKamailio(config: GatewayConfig, req: FastifyRequest): void {
  const expected = config.sip.routeSecret;
  const given = req.headers['x-koe-route-secret'];
  if (!expected || typeof given !== 'string' || !timingSafeEqual(digest(given), digest(expected))) {
    throw new GatewayError('unauthenticated', 'this route is for Kamailio (X-Koe-Route-Secret)');
  }
}
