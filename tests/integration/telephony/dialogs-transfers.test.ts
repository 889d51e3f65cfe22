// Issue 11, "dialogs only for their parties" and "a transfer policy", against real Kamailio:
// in-dialog requests are relayed only within a dialog Kamailio record-routed (its Call-ID known,
// the Route presented is Kamailio's own with the dialog's ;koe= token) and only from a party of
// it; a REFER is accepted only from an operator of the call, to a colleague or an allowed number,
// never from the far end; every REFER is audited by the gateway. The trunk is a raw UDP socket
// bound on the trunk address; the attacker a plain WebSocket client.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hdr, hdrs, parseSip, rtpSdp, SipWsClient, type SipMessage } from './sip-ws';
import { MessageLog } from '../../support/ws-waiter';
import { telephonyFixture, type TelephonyFixture } from './fixture';

const rnd = (n = 6) => randomBytes(n).toString('hex');

/** The trunk: a raw UDP socket on the trunk address that records what reaches it and answers. */
class RawTrunk {
  /** What reached the trunk, in order (the one waiter: tests/support/ws-waiter.ts). */
  readonly log = new MessageLog<SipMessage>('trunk');
  get received(): SipMessage[] {
    return this.log.messages;
  }
  private constructor(readonly sock: Socket, readonly host: string, readonly port: number, readonly kam: { host: string; port: number }) {
    sock.on('message', (data) => {
      const m = parseSip(data.toString());
      this.log.push(m);
      if (!m.method || m.method === 'ACK') return;
      if (m.method === 'INVITE') this.reply(m, 200, 'OK', rtpSdp(41_000));
      else if (m.method === 'REFER') this.reply(m, 202, 'Accepted');
      else this.reply(m, 200, 'OK');
    });
  }
  static async bind(host: string, port: number, kam: { host: string; port: number }) {
    const sock = createSocket('udp4');
    await new Promise<void>((r, j) => (sock.once('error', j), sock.bind(port, host, () => r())));
    return new RawTrunk(sock, host, port, kam);
  }
  readonly toTag = rnd(4);
  send(raw: string) {
    this.sock.send(raw, this.kam.port, this.kam.host);
  }
  reply(req: SipMessage, status: number, reason: string, body = '') {
    const to = hdr(req, 'to')!;
    this.send(
      [
        `SIP/2.0 ${status} ${reason}`,
        ...hdrs(req, 'via').map((v) => `Via: ${v}`),
        ...hdrs(req, 'record-route').map((v) => `Record-Route: ${v}`),
        `From: ${hdr(req, 'from')}`,
        `To: ${to.includes('tag=') ? to : `${to};tag=${this.toTag}`}`,
        `Call-ID: ${hdr(req, 'call-id')}`,
        `CSeq: ${hdr(req, 'cseq')}`,
        `Contact: <sip:customer@${this.host}:${this.port}>`,
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
  }
  /** A request as the far end sends it within the dialog of `invite` (what reached it). */
  request(method: string, invite: SipMessage, extra: string[] = []) {
    const uri = /<([^>]+)>/.exec(hdr(invite, 'contact')!)![1]!;
    const routes = hdrs(invite, 'record-route').flatMap((v) => v.split(/,\s*(?=<)/));
    this.send(
      [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=z9hG4bK${rnd()};rport`,
        'Max-Forwards: 70',
        `From: ${hdr(invite, 'to')};tag=${this.toTag}`,
        `To: ${hdr(invite, 'from')}`,
        `Call-ID: ${hdr(invite, 'call-id')}`,
        `CSeq: 100 ${method}`,
        ...routes.map((r) => `Route: ${r}`),
        `Contact: <sip:customer@${this.host}:${this.port}>`,
        ...extra,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }
  waitFor(match: (m: SipMessage) => boolean, timeoutMs = 3000): Promise<SipMessage> {
    return this.log.next(match, { timeoutMs });
  }
  /**
   * A round trip to Kamailio from this socket: an OPTIONS, answered. Kamailio sends to this
   * address from the one UDP socket it received on, in order: whatever it sent the trunk
   * before answering has arrived once this resolves (absence checks).
   */
  async sync(): Promise<void> {
    const callId = `${rnd(8)}@sync`;
    this.send(
      [
        `OPTIONS sip:${this.kam.host}:${this.kam.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=z9hG4bK${rnd()};rport`,
        'Max-Forwards: 70',
        `From: <sip:trunk@${this.host}>;tag=${rnd(4)}`,
        `To: <sip:${this.kam.host}:${this.kam.port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    await this.waitFor((m) => m.status !== undefined && hdr(m, 'call-id') === callId);
  }
  close() {
    this.sock.close();
  }
}

/**
 * A round trip on a phone's WebSocket: an OPTIONS to Kamailio, answered on the same
 * connection, so whatever Kamailio sent this phone before has arrived (absence checks).
 */
async function syncWs(c: SipWsClient): Promise<void> {
  const res = await c.request('OPTIONS', `sip:${f.stack.sip.domain}`);
  expect(res.status, res.startLine).toBeGreaterThanOrEqual(200);
}

let f: TelephonyFixture;
let trunk: RawTrunk;
const open: SipWsClient[] = [];
beforeAll(async () => {
  // toll-free numbers (+81 120 ...) may be transfer targets; other numbers may not
  f = await telephonyFixture({ sip: { transferNumberPattern: '^[+]81120[0-9]{6}$' } });
  trunk = await RawTrunk.bind(f.stack.sip.trunk.host, f.stack.sip.trunk.port, f.stack.sip.udp);
});
afterAll(async () => {
  for (const u of open) u.close();
  trunk?.close();
  await f?.close();
});

async function operator(who: 'opA' | 'opB' | 'opC'): Promise<SipWsClient> {
  const c = await f.credentials(who);
  const u = await SipWsClient.connect(f.stack.sip.wsUrl, {
    user: f.users[who].sipUser,
    domain: f.stack.sip.domain,
    auth: { username: c.authorizationUsername, password: c.authorizationPassword },
  });
  open.push(u);
  return u;
}
async function attacker(): Promise<SipWsClient> {
  const u = await SipWsClient.connect(f.stack.sip.wsUrl, { user: 'mallory', domain: f.stack.sip.domain, auth: null });
  open.push(u);
  return u;
}

/** opA dials a number: the call goes to the trunk, which answers 200. The dialog as opA sees it. */
async function outboundCall(a: SipWsClient) {
  const number = `+8190${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const callId = `${rnd(8)}@test`;
  const res = await a.request('INVITE', `sip:${number}@${f.stack.sip.domain}`, { body: rtpSdp(40_000), callId });
  expect(res.status, res.startLine).toBe(200);
  const atTrunk = await trunk.waitFor((m) => m.method === 'INVITE' && hdr(m, 'call-id') === callId);
  // opA's route set: the Record-Route of the 200, reversed (RFC 3261 12.1.2)
  const routes = hdrs(res, 'record-route').flatMap((v) => v.split(/,\s*(?=<)/)).reverse();
  const target = /<([^>]+)>/.exec(hdr(res, 'contact')!)![1]!;
  return { callId, to: hdr(res, 'to')!, routes, target, atTrunk };
}
const countAtTrunk = (callId: string, method: string) => trunk.received.filter((m) => m.method === method && hdr(m, 'call-id') === callId).length;
const auditOf = async (action: string, callId: string) =>
  (await f.stack.gateway.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).where('target_id', '=', callId).orderBy('seq').execute()).map((r) => ({
    ...r,
    detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail,
  }));

describe('in-dialog requests only within our dialogs and from their parties (issue 11)', () => {
  it('an unauthenticated WebSocket client with a To-tag and a Route to the trunk is refused (481) and nothing reaches the trunk', async () => {
    const evil = await attacker();
    const before = trunk.received.length;
    const trunkRoute = `Route: <sip:${f.stack.sip.trunk.host}:${f.stack.sip.trunk.port};lr>`;
    for (const method of ['INVITE', 'MESSAGE', 'BYE']) {
      const res = await evil.request(method, `sip:+819012345678@${f.stack.sip.trunk.host}:${f.stack.sip.trunk.port}`, {
        to: `<sip:+819012345678@${f.stack.sip.domain}>;tag=${rnd(4)}`,
        extra: [trunkRoute],
        ...(method === 'INVITE' ? { body: rtpSdp(40_100) } : {}),
      });
      expect(res.status, `${method}: ${res.startLine}`).toBe(481);
    }
    // with a Route to another host and Kamailio's own address first
    const res = await evil.request('INVITE', 'sip:+819012345678@203.0.113.9', {
      to: `<sip:+819012345678@${f.stack.sip.domain}>;tag=${rnd(4)}`,
      extra: [`Route: <sip:${f.stack.sip.udp.host}:${f.stack.sip.udp.port};lr>, <sip:203.0.113.9;lr>`],
      body: rtpSdp(40_100),
    });
    expect(res.status, res.startLine).toBe(481);
    await trunk.sync();
    expect(trunk.received.length).toBe(before + 1); // the answer to the sync only
    expect(f.logs()).toMatch(/IN-DIALOG refused: INVITE from .* no dialog of ours/);
  });

  it('a live call: a stranger replaying its Call-ID, tags and Route is refused (403); a party with a Route not ours is refused; the party itself goes through', async () => {
    const a = await operator('opA');
    expect((await a.register()).status).toBe(200);
    const call = await outboundCall(a);
    const evil = await attacker();
    for (const method of ['BYE', 'INVITE', 'MESSAGE']) {
      const res = await evil.request(method, call.target, { callId: call.callId, to: call.to, extra: call.routes.map((r) => `Route: ${r}`) });
      expect(res.status, `${method}: ${res.startLine}`).toBe(403);
    }
    await trunk.sync();
    expect(countAtTrunk(call.callId, 'BYE') + countAtTrunk(call.callId, 'MESSAGE')).toBe(0);
    expect(countAtTrunk(call.callId, 'INVITE')).toBe(1);

    // opA itself, with a forged Route (to the trunk directly, or ours without the dialog's token)
    const forged = await a.request('INFO', call.target, { callId: call.callId, to: call.to, extra: [`Route: <sip:${f.stack.sip.trunk.host}:${f.stack.sip.trunk.port};lr>`] });
    expect(forged.status, forged.startLine).toBe(403);
    const wrongToken = call.routes.map((r) => `Route: ${r.replace(/koe=[0-9a-f]{32}/, `koe=${rnd(16)}`)}`);
    expect((await a.request('INFO', call.target, { callId: call.callId, to: call.to, extra: wrongToken })).status).toBe(403);
    expect(countAtTrunk(call.callId, 'INFO')).toBe(0);
    // and with its real route set: relayed (INFO = DTMF), then BYE
    const info = await a.request('INFO', call.target, { callId: call.callId, to: call.to, extra: call.routes.map((r) => `Route: ${r}`) });
    expect(info.status, info.startLine).toBe(200);
    expect(countAtTrunk(call.callId, 'INFO')).toBe(1);
    const bye = await a.request('BYE', call.target, { callId: call.callId, to: call.to, extra: call.routes.map((r) => `Route: ${r}`) });
    expect(bye.status, bye.startLine).toBe(200);
    expect(countAtTrunk(call.callId, 'BYE')).toBe(1);
  });
});

describe('transfer policy (issue 11)', () => {
  it('a REFER from the far end is refused 403 (audited) and the operator\'s phone receives nothing; out of a dialog too', async () => {
    const a = await operator('opA');
    expect((await a.register()).status).toBe(200);
    const call = await outboundCall(a);
    const got = a.received.length;
    trunk.request('REFER', call.atTrunk, [`Refer-To: <sip:+819099998888@${f.stack.sip.domain}>`]);
    const res = await trunk.waitFor((m) => m.status !== undefined && hdr(m, 'call-id') === call.callId && /REFER$/.test(hdr(m, 'cseq')!));
    expect(res.status, res.startLine).toBe(403);
    await syncWs(a);
    expect(a.received.slice(got).filter((m) => m.method === 'REFER')).toHaveLength(0);
    const audit = await auditOf('sip.transfer_refused', call.callId);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.detail).toMatchObject({ by: 'trunk', kind: 'far_end' });

    // a REFER outside any dialog, from the trunk to the operator's AoR
    const oodCallId = `${rnd(8)}@trunk`;
    trunk.send(
      [
        `REFER sip:${f.users.opA.sipUser}@${f.stack.sip.domain} SIP/2.0`,
        `Via: SIP/2.0/UDP ${trunk.host}:${trunk.port};branch=z9hG4bK${rnd()};rport`,
        'Max-Forwards: 70',
        `From: <sip:customer@${trunk.host}>;tag=${rnd(4)}`,
        `To: <sip:${f.users.opA.sipUser}@${f.stack.sip.domain}>`,
        `Call-ID: ${oodCallId}`,
        'CSeq: 1 REFER',
        `Refer-To: <sip:+819099998888@${f.stack.sip.domain}>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const ood = await trunk.waitFor((m) => m.status !== undefined && hdr(m, 'call-id') === oodCallId);
    expect(ood.status, ood.startLine).toBe(403);
    await syncWs(a);
    expect(a.received.slice(got).filter((m) => m.method === 'REFER')).toHaveLength(0);
  });

  it('an operator\'s REFER of its own call: to a colleague accepted and audited; to a number outside the allowed patterns refused and audited; a stranger\'s REFER refused', async () => {
    const a = await operator('opA');
    expect((await a.register()).status).toBe(200);
    const call = await outboundCall(a);
    const route = call.routes.map((r) => `Route: ${r}`);
    const colleague = `sip:${f.users.opC.sipUser}@${f.stack.sip.domain}`;

    const toNumber = await a.request('REFER', call.target, { callId: call.callId, to: call.to, extra: [...route, `Refer-To: <sip:+819012345678@${f.stack.sip.domain}>`] });
    expect(toNumber.status, toNumber.startLine).toBe(403);
    // URI headers on a colleague target (an embedded INVITE header) are not a colleague either
    const withHeaders = await a.request('REFER', call.target, { callId: call.callId, to: call.to, extra: [...route, `Refer-To: <${`sip:${f.users.opC.sipUser}@${f.stack.sip.domain}`}?Route=%3Csip:203.0.113.9%3E>`] });
    expect(withHeaders.status, withHeaders.startLine).toBe(403);
    expect(countAtTrunk(call.callId, 'REFER')).toBe(0);
    const refused = await auditOf('sip.transfer_refused', call.callId);
    expect(refused).toHaveLength(2);
    expect(refused[0]!.detail).toMatchObject({ by: f.users.opA.sipUser, kind: 'refused', to: `sip:+819012345678@${f.stack.sip.domain}` });
    expect(refused[0]!.actor_user_id).toBe(f.users.opA.id);

    // another operator (authenticated, but not a party of this call), with the call's route set
    const c = await operator('opC');
    const stranger = await c.request('REFER', call.target, { callId: call.callId, to: call.to, extra: [...route, `Refer-To: <${colleague}>`] });
    expect(stranger.status, stranger.startLine).toBe(403);
    expect(countAtTrunk(call.callId, 'REFER')).toBe(0);

    // a number the allowlist takes (toll-free), at our domain: accepted and audited
    const tollFree = `sip:+81120123456@${f.stack.sip.domain}`;
    const toAllowed = await a.request('REFER', call.target, { callId: call.callId, to: call.to, extra: [...route, `Refer-To: <${tollFree}>`] });
    expect(toAllowed.status, toAllowed.startLine).toBe(202);
    expect((await auditOf('sip.transfer', call.callId)).map((r) => r.detail)).toEqual([expect.objectContaining({ kind: 'number', to: tollFree })]);

    const ok = await a.request('REFER', call.target, { callId: call.callId, to: call.to, extra: [...route, `Refer-To: <${colleague}>`] });
    expect(ok.status, ok.startLine).toBe(202);
    await trunk.waitFor((m) => m.method === 'REFER' && hdr(m, 'call-id') === call.callId && hdr(m, 'refer-to') === `<${colleague}>`);
    const audited = (await auditOf('sip.transfer', call.callId)).filter((r) => r.detail.kind === 'colleague');
    expect(audited).toHaveLength(1);
    expect(audited[0]!.detail).toMatchObject({ by: f.users.opA.sipUser, kind: 'colleague', to: colleague });
    expect(audited[0]!.org_id).toBe(f.orgId);
    expect(audited[0]!.actor_user_id).toBe(f.users.opA.id);
  });
});
