// The renderer's direct gateway calls (screen pop, notes, supervision): one client, made with
// the gateway URL from policy and the short-lived access token main hands out on request.
import { GatewayCallError, GatewayClient, type FetchFn } from '../../shared/gateway-client';
import { koe } from './koe';
import { useAppStore } from './app/app-store';

export const gatewayClient = new GatewayClient(
  () => useAppStore.getState().policy?.policy.gatewayUrl ?? 'http://127.0.0.1:8787',
  ((url, init) => window.fetch(url, init)) as FetchFn,
  8_000,
);

/** The current access token; refused by main while locked or signed out. */
export async function accessToken(): Promise<string> {
  const r = await koe().session.accessToken({});
  if (!r.ok || !r.value) throw new GatewayCallError('unreachable', 'no access token (signed out or locked)');
  return r.value.token;
}
