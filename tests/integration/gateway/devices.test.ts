// Device binding: first sign-in enrols the key (alert + audit), later sign-ins must sign a
// fresh, single-use, short-lived challenge with that key; other keys, forged signatures,
// replayed or mismatched challenges are refused; admins list, rename, revoke and reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, PASSWORD, newDeviceKey, setup, signChallenge, type Harness } from './harness';

describe.each(BACKENDS)('device binding on %s', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup(backend);
  });
  afterAll(async () => h?.close());

  const signInBody = (username: string, key: ReturnType<typeof newDeviceKey>, challenge: string, signature?: string) => ({
    username, password: PASSWORD,
    device: { publicKey: key.publicKey, name: key.name, challenge, signature: signature ?? signChallenge(key, 'sign-in', username, challenge) },
  });

  it('enrols the first device, raises an alert, and binds later sign-ins to it', async () => {
    const u = await h.newUser('operator');
    const first = await h.signIn(u);
    expect(first.status).toBe(200);
    expect(first.body.device).toMatchObject({ name: u.device.name, enrolledNow: true });
    const again = await h.signIn(u);
    expect(again.body.device).toMatchObject({ id: first.body.device.id, enrolledNow: false });

    const adminToken = await h.token(h.users.admin);
    const alerts = await h.req('GET', '/admin/alerts?unacknowledged=true', { token: adminToken });
    const alert = alerts.body.alerts.find((a: { userId: string }) => a.userId === u.id);
    expect(alert).toMatchObject({ kind: 'new_device', deviceId: first.body.device.id, deviceName: u.device.name, sourceIp: '10.0.0.1' });
    expect((await h.req('POST', `/admin/alerts/${alert.id}/ack`, { token: adminToken })).status).toBe(200);
    const after = await h.req('GET', '/admin/alerts?unacknowledged=true', { token: adminToken });
    expect(after.body.alerts.find((a: { id: string }) => a.id === alert.id)).toBeUndefined();
    expect(await h.auditActions({ targetId: first.body.device.id })).toContain('device.enrolled');
  });

  it('refuses another device with device_mismatch (audited), even with the right password', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    const other = newDeviceKey('STOLEN-LAPTOP');
    const res = await h.signIn(u, { device: other });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('device_mismatch');
    expect(await h.auditActions({ targetId: u.id })).toContain('device.rejected');
  });

  it('refuses a sign-in without device proof when binding applies', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    const res = await h.signIn(u, { device: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('device_signature_required');
  });

  it('refuses a forged signature, and one made by a different key for the enrolled public key', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    const challenge = await h.challenge(u.username);
    const garbage = Buffer.alloc(64, 7).toString('base64url');
    const forged = await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, challenge, garbage) });
    expect(forged.body.error.code).toBe('signature_invalid');
    const attacker = newDeviceKey();
    const c2 = await h.challenge(u.username);
    const wrongKey = await h.req('POST', '/auth/sign-in', {
      body: signInBody(u.username, u.device, c2, signChallenge(attacker, 'sign-in', u.username, c2)),
    });
    expect(wrongKey.body.error.code).toBe('signature_invalid');
  });

  it('makes challenges single-use, short-lived, user-bound and purpose-bound', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    const challenge = await h.challenge(u.username);
    expect((await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, challenge) })).status).toBe(200);
    const replay = await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, challenge) });
    expect(replay.body.error.code).toBe('challenge_invalid');

    const stale = await h.challenge(u.username);
    h.clock.advance(61_000);
    expect((await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, stale) })).body.error.code).toBe('challenge_invalid');

    const someoneElses = await h.challenge(h.users.lead.username);
    expect((await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, someoneElses) })).body.error.code).toBe('challenge_invalid');

    const refreshChallenge = await h.challenge(u.username, 'refresh');
    expect((await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, refreshChallenge) })).body.error.code).toBe('challenge_invalid');

    const madeUp = 'A'.repeat(43);
    expect((await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, madeUp) })).body.error.code).toBe('challenge_invalid');
  });

  it('does not accept a refresh-purpose signature for sign-in (cross-purpose replay)', async () => {
    const u = await h.newUser('operator');
    await h.signIn(u);
    const challenge = await h.challenge(u.username);
    const refreshSig = signChallenge(u.device, 'refresh', u.username, challenge);
    const res = await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, u.device, challenge, refreshSig) });
    expect(res.body.error.code).toBe('signature_invalid');
  });

  it('requires proof of possession at enrolment (cannot enrol a key you do not hold)', async () => {
    const u = await h.newUser('operator');
    const victimKey = newDeviceKey();
    const challenge = await h.challenge(u.username);
    const res = await h.req('POST', '/auth/sign-in', {
      body: signInBody(u.username, victimKey, challenge, signChallenge(newDeviceKey(), 'sign-in', u.username, challenge)),
    });
    expect(res.body.error.code).toBe('signature_invalid');
    expect(await h.db.selectFrom('devices').select('id').where('user_id', '=', u.id).execute()).toEqual([]);
  });

  it('lets admins list and rename devices; revoke refuses the key and ends its sessions', async () => {
    const u = await h.newUser('operator');
    const session = await h.signIn(u);
    const deviceId = session.body.device.id;
    const adminToken = await h.token(h.users.admin);
    const list = await h.req('GET', `/admin/devices?userId=${u.id}`, { token: adminToken });
    expect(list.body.devices).toEqual([expect.objectContaining({ id: deviceId, status: 'active', publicKey: u.device.publicKey })]);
    const renamed = await h.req('PATCH', `/admin/devices/${deviceId}`, { token: adminToken, body: { name: '東京センター 12番席' } });
    expect(renamed.body.name).toBe('東京センター 12番席');
    const revoked = await h.req('POST', `/admin/devices/${deviceId}/revoke`, { token: adminToken });
    expect(revoked.body.status).toBe('revoked');
    expect((await h.req('GET', '/me', { token: session.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    expect((await h.signIn(u)).body.error.code).toBe('device_revoked');
    // The revoked key stays refused for good; a new PC may enrol (raising a new alert).
    const newKey = newDeviceKey();
    const replacement = await h.signIn(u, { device: newKey });
    expect(replacement.body.device.enrolledNow).toBe(true);
    expect((await h.signIn(u)).body.error.code).toBe('device_revoked');
    const alerts = await h.req('GET', '/admin/alerts', { token: adminToken });
    expect(alerts.body.alerts.filter((a: { userId: string }) => a.userId === u.id)).toHaveLength(2);
    expect(await h.auditActions({ targetId: deviceId })).toEqual(expect.arrayContaining(['device.enrolled', 'device.renamed', 'device.revoked']));
  });

  it('reset unbinds: the next sign-in enrols a new device (with a new alert)', async () => {
    const u = await h.newUser('operator');
    const first = await h.signIn(u);
    const adminToken = await h.token(h.users.admin);
    const reset = await h.req('POST', `/admin/users/${u.id}/devices/reset`, { token: adminToken });
    expect(reset.body).toEqual({ revoked: 1 });
    expect((await h.req('GET', '/me', { token: first.body.tokens.accessToken })).body.error.code).toBe('session_revoked');
    const replacement = newDeviceKey('KOE-PC-NEW');
    const res = await h.signIn(u, { device: replacement });
    expect(res.body.device).toMatchObject({ enrolledNow: true, name: 'KOE-PC-NEW' });
    expect((await h.signIn(u)).body.error.code).toBe('device_mismatch');
    const alerts = await h.req('GET', '/admin/alerts', { token: adminToken });
    expect(alerts.body.alerts.filter((a: { userId: string }) => a.userId === u.id)).toHaveLength(2);
    expect(await h.auditActions({ targetId: u.id })).toContain('device.reset');
  });

  it('does not require a device for roles outside the binding policy', async () => {
    await h.patchPolicy({ deviceBindingRoles: ['operator', 'team_lead'] });
    try {
      const admin = await h.newUser('admin');
      const res = await h.signIn(admin, { device: null });
      expect(res.status).toBe(200);
      expect(res.body.device).toBeNull();
    } finally {
      await h.patchPolicy({ deviceBindingRoles: ['operator', 'team_lead', 'admin'] });
    }
  });

  it('refuses malformed device keys and signatures at validation', async () => {
    const u = await h.newUser('operator');
    const challenge = await h.challenge(u.username);
    const res = await h.req('POST', '/auth/sign-in', {
      body: { username: u.username, password: PASSWORD, device: { publicKey: 'short', name: 'x', challenge, signature: 'y' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    // 43 base64url characters that are not a valid Ed25519 point still fail cleanly
    const bogusKey = { publicKey: '_'.repeat(43), privateKey: newDeviceKey().privateKey, name: 'bogus' };
    const c2 = await h.challenge(u.username);
    const res2 = await h.req('POST', '/auth/sign-in', { body: signInBody(u.username, bogusKey, c2, Buffer.alloc(64).toString('base64url')) });
    expect(res2.status).toBe(401);
    expect(res2.body.error.code).toBe('signature_invalid');
  });
});
