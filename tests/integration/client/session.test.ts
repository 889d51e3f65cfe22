import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceIdentity } from '../../../main/identity/device-identity';
import { SessionService } from '../../../main/session/session-service';
import { GatewayClient } from '../../../shared/gateway-client';
import { GatewayTestClient } from '../../support/gateway-client';
import { startLoopbackGateway } from '../../support/gateway-harness';
import { MemoryVault } from '../../support/memory-vault';

// Main's session service against a real gateway: rotation, reuse detection, device signatures.

let gw: Awaited<ReturnType<typeof startLoopbackGateway>>;
beforeAll(async () => {
  gw = await startLoopbackGateway({ deviceBindingRoles: ['operator'] });
});
afterAll(async () => gw?.close());

function client(vault = new MemoryVault()) {
  const session = new SessionService({
    gateway: new GatewayClient(() => gw.url, (url, init) => fetch(url, init)),
    vault,
    identity: new DeviceIdentity(vault),
    deviceName: () => 'KOE-PC',
    clock: { now: () => Date.now() },
    timers: { setTimeout: () => null, clearTimeout: () => undefined },
  });
  return { session, vault };
}

describe('SessionService against the real gateway', () => {
  it('rotates the refresh token on refresh, with a device signature, and keeps it only in the vault', async () => {
    const user = await gw.addUser('operator', '中村 陽子');
    const { session, vault } = client();
    expect((await session.signIn(user)).outcome).toBe('signed-in');
    const first = vault.data.get('refresh-token')!;
    const access1 = (await session.accessToken())!.token;
    await session.refresh();
    const second = vault.data.get('refresh-token')!;
    expect(second).not.toBe(first);
    expect((await session.accessToken())!.token).not.toBe(access1);
    expect(session.current().status).toBe('signed-in');
  });

  it('ends the session as revoked when a stolen, already rotated refresh token is replayed', async () => {
    const user = await gw.addUser('operator', '小林 大輔');
    const { session, vault } = client();
    await session.signIn(user);
    const stolen = vault.data.get('refresh-token')!;
    await session.refresh(); // the real client rotates
    // The thief replays the old token (even with a valid device proof it is a reuse).
    const res = await GatewayTestClient.http(gw.url).req('POST', '/auth/refresh', { body: { refreshToken: stolen } });
    expect(res.status).toBe(401);
    await session.refresh(); // the family is revoked: the real client is signed out too
    expect(session.current()).toEqual({ status: 'signed-out', reason: 'revoked' });
    expect(vault.data.has('refresh-token')).toBe(false);
  });

  it('cannot refresh with the token alone on another PC (no device key)', async () => {
    const user = await gw.addUser('operator', '加藤 里奈');
    const a = client();
    await a.session.signIn(user);
    const other = client(); // another PC: its own vault, its own device key
    await other.vault.set('refresh-token', a.vault.data.get('refresh-token')!);
    await other.vault.set('session-username', user.username);
    await other.session.refresh();
    // Had the gateway accepted it, the vault would now hold a rotated token and an access token would exist.
    expect(other.vault.data.has('refresh-token')).toBe(false);
    expect(await other.session.accessToken()).toBeNull();
    expect(other.session.current()).toEqual({ status: 'signed-out', reason: 'expired' });
  });
});
