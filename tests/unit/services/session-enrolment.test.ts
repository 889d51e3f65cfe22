// An enrolment-only session in main (policy requires TOTP, the user has none): no gateway link
// until the enrolment is confirmed; session.reload re-reads the user from the gateway and only
// then is the session a full one. The new-PC notices of a sign-in reach the session state.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryKeytar } from '../../support/memory-keytar';
import { makeServices } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

type Call = (name: string, input?: { accessToken?: string }) => Promise<unknown>;
const USER = { id: '44444444-4444-4444-8444-444444444444', username: 'admin-1', displayName: '管理 太郎', role: 'admin', permissions: ['users:read'] };

async function services(totpEnabledAfter: () => boolean) {
  const s = await makeServices({ keytar: memoryKeytar(), managedPolicy: { gatewayUrl: 'http://127.0.0.1:9' } });
  dirs.push(s.userDataDir);
  const calls: string[] = [];
  const call: Call = async (name) => {
    calls.push(name);
    const expiresAt = new Date(s.clock.now() + 15 * 60_000).toISOString();
    switch (name) {
      case 'challenge':
        return { challenge: 'c'.repeat(43), expiresAt };
      case 'signIn':
        return {
          tokens: { accessToken: 'access-token-0123456789', accessTokenExpiresAt: expiresAt, refreshToken: 'refresh-token-0123456789', absoluteExpiresAt: expiresAt },
          user: USER,
          device: { id: 'd', name: 'PC', enrolledNow: false },
          totpEnrolmentRequired: true,
          passwordChangeRequired: false,
          recoveryCodeUsed: false,
          newDevices: [{ id: '55555555-5555-4555-8555-555555555555', name: 'KOE-PC-9', enrolledAt: '2026-11-30T01:00:00.000Z', sourceIp: '203.0.113.5' }],
        };
      case 'me':
        return { user: { ...USER, orgId: USER.id, teamIds: [], disabled: false, totpEnabled: totpEnabledAfter(), mustChangePassword: false }, sessionId: USER.id, deviceId: null };
      case 'clientPolicy':
        return { idleTimeoutSeconds: 60, contentProtection: true, blurOnFocusLoss: false };
      case 'signOut':
        return { ok: true };
      default:
        throw new Error(`unscripted gateway call ${name}`);
    }
  };
  (s.gateway as unknown as { call: Call }).call = call;
  return { s, calls };
}

describe('an enrolment-only session in main', () => {
  it('starts no gateway link until the gateway says TOTP is enabled, then becomes a full session', async () => {
    let enabled = false;
    const { s } = await services(() => enabled);
    const out = await s.session.signIn({ username: 'admin-1', password: 'pw-pw-pw-pw' });
    expect(out).toMatchObject({ outcome: 'signed-in', session: { totpEnrolmentRequired: true, newDevices: [{ name: 'KOE-PC-9', sourceIp: '203.0.113.5' }] } });
    expect(s.link.readyState).toBe('closed');
    expect(s.link.status().phase).toBe('offline');

    // not confirmed yet (or the renderer asks early): still enrolment-only, still no link
    expect(await s.session.reload()).toMatchObject({ status: 'signed-in', totpEnrolmentRequired: true });
    expect(s.link.status().phase).toBe('offline');

    enabled = true;
    expect(await s.session.reload()).toMatchObject({ status: 'signed-in', totpEnrolmentRequired: false, user: { id: USER.id } });
    expect(s.link.status().phase).not.toBe('offline'); // connecting (to nothing, port 9): it was started
    await s.session.signOut();
  });

  it('asks the gateway nothing when signed out', async () => {
    const { s, calls } = await services(() => false);
    expect(await s.session.reload()).toEqual({ status: 'signed-out', reason: null });
    expect(calls).not.toContain('me');
  });
});
