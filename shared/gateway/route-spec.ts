// The shape of one gateway route in the contract (ROUTES in api.ts): its own module so the
// contract's parts (crm, sip, supervision) can declare routes without importing api.ts.
import type { z } from 'zod';
import type { PERMISSIONS } from './permissions';

type Schema = z.ZodType;
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  /**
   * null = public; 'kamailio' = Kamailio only (the shared X-Koe-Route-Secret header, no user);
   * 'authenticated' = any signed-in user; otherwise the permission needed. The gateway checks it
   * before it parses anything the request holds (server/http.ts route()).
   */
  auth: null | 'kamailio' | 'authenticated' | (typeof PERMISSIONS)[number];
  body?: Schema;
  query?: Schema;
  params?: Schema;
  response: Schema;
  /** A larger request body than the gateway's bodyLimitBytes (an upload route). */
  bodyLimit?: number;
}
