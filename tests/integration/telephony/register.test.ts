// REGISTER over WS/WSS with gateway-issued auth_ephemeral credentials, against real Kamailio.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWs, SipWsClient } from './sip-ws';
import { telephonyFixture, type TelephonyFixture } from './fixture';

let f: TelephonyFixture;
beforeAll(async () => {
  f = await telephonyFixture();
});
afterAll(async () => {
  await f?.close();
});

const sign = (secret: string, username: string) => createHmac('sha1', secret).update(username).digest('base64');

describe('SIP credentials and REGISTER', () => {
  it('issues ephemeral credentials (no password stored, audited without it) and Kamailio accepts them over WS and WSS', async () => {
    const c = await f.credentials('opA');
    expect(c.aor).toBe(`sip:${f.users.opA.sipUser}@${f.stack.sip.domain}`);
    expect(c.authorizationUsername).toMatch(new RegExp(`^\\d{10}:${f.users.opA.sipUser.replace(/[.]/g, '[.]')}$`));
    const expiry = Number(c.authorizationUsername.split(':')[0]);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(3500);
    expect(new Date(c.expiresAt).getTime() / 1000).toBe(expiry);
    expect(c.wsServers).toEqual([f.stack.sip.wssUrl, f.stack.sip.wsUrl]);
    const audit = await f.stack.gateway.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'sip.credentials_issued').where('target_id', '=', f.users.opA.id).execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.detail)).not.toContain(c.authorizationPassword);

    for (const url of [f.stack.sip.wsUrl, f.stack.sip.wssUrl]) {
      const ua = await SipWsClient.connect(url, { user: f.users.opA.sipUser, domain: f.stack.sip.domain, auth: { username: c.authorizationUsername, password: c.authorizationPassword } });
      const t0 = performance.now();
      const res = await ua.register();
      const ms = performance.now() - t0;
      expect(res.status, res.raw).toBe(200);
      expect(ms).toBeLessThan(500);
      console.log(`REGISTER (challenge + authenticated) over ${url.split(':')[0]}: ${ms.toFixed(1)} ms`);
      ua.close();
    }
  });

  it('refuses expired, tampered, another user\'s and wrong-secret credentials with 403', async () => {
    const secret = f.stack.gateway.ctx.config.sip.authephSecrets[0]!;
    const user = f.users.opB.sipUser;
    const past = `${Math.floor(Date.now() / 1000) - 60}:${user}`;
    const good = await f.credentials('opB');
    const [exp] = good.authorizationUsername.split(':');
    const cases: [string, { username: string; password: string }, string][] = [
      ['expired', { username: past, password: sign(secret, past) }, user],
      ['tampered expiry', { username: `${Number(exp) + 86_400}:${user}`, password: good.authorizationPassword }, user],
      ['tampered user', { username: `${exp}:${f.users.opA.sipUser}`, password: good.authorizationPassword }, f.users.opA.sipUser],
      ['another user\'s credential', { username: good.authorizationUsername, password: good.authorizationPassword }, f.users.opA.sipUser],
      ['wrong secret', { username: good.authorizationUsername, password: sign('not-the-secret-0123456789-abcdefghijkl', good.authorizationUsername) }, user],
    ];
    for (const [name, auth, aorUser] of cases) {
      const ua = await SipWsClient.connect(f.stack.sip.wsUrl, { user: aorUser, domain: f.stack.sip.domain, auth });
      const res = await ua.register();
      expect(res.status, `${name}: ${res.startLine}`).toBe(403);
      ua.close();
    }
    // and the good one does work
    const ua = await SipWsClient.connect(f.stack.sip.wsUrl, { user, domain: f.stack.sip.domain, auth: { username: good.authorizationUsername, password: good.authorizationPassword } });
    expect((await ua.register()).status).toBe(200);
    ua.close();
  });

  it('challenges a REGISTER without credentials', async () => {
    const ua = await SipWsClient.connect(f.stack.sip.wsUrl, { user: f.users.opA.sipUser, domain: f.stack.sip.domain, auth: null });
    expect((await ua.register()).status).toBe(401);
    ua.close();
  });

  it('refuses the WebSocket handshake from a disallowed or missing Origin (WSS and WS)', async () => {
    await expect(openWs(f.stack.sip.wssUrl, 'https://evil.example')).rejects.toThrow(/403/);
    await expect(openWs(f.stack.sip.wssUrl, 'http://127.0.0.1.evil.example:80')).rejects.toThrow(/403/);
    await expect(openWs(f.stack.sip.wsUrl, null)).rejects.toThrow(/403/);
    const ok = await openWs(f.stack.sip.wssUrl, 'koe://app');
    ok.close();
  });

  it('refuses a SIP credential to a user without calls:handle and without a session', async () => {
    expect((await f.api('POST', '/sip/credentials')).status).toBe(401);
  });
});
