// Issue 11 item 6, numbers as carriers send them, against real Kamailio + the gateway: every
// caller form (parameterised, tel:, P-Asserted-Identity, withheld, anonymous, no user part,
// 70+ characters), long Call-IDs and national-form DIDs are routed to the ready operator (a
// known caller with their customer card, anything else as "unknown caller"); never a 503.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Carrier } from './carrier';
import { AgentWs, telephonyFixture, type TelephonyFixture } from './fixture';
import { hdr, SipWsClient, type SipMessage } from './sip-ws';

const KNOWN = '+819012345678';
let f: TelephonyFixture;
let carrier: Carrier;
let op: SipWsClient;
let agent: AgentWs;
let customerId: string;
const invites: SipMessage[] = [];

beforeAll(async () => {
  f = await telephonyFixture();
  carrier = await Carrier.start({ trunk: f.stack.sip.trunk, kamailio: f.stack.sip.udp, toneHz: 440 });
  const c = await f.credentials('opA');
  op = await SipWsClient.connect(f.stack.sip.wsUrl, { user: f.users.opA.sipUser, domain: f.stack.sip.domain, auth: { username: c.authorizationUsername, password: c.authorizationPassword } });
  expect((await op.register()).status).toBe(200);
  // the operator's phone: records each INVITE and declines it (486), so every case is one routing decision
  op.onRequest = (m) => {
    if (m.method !== 'INVITE') return;
    invites.push(m);
    op.reply(m, 486, 'Busy Here');
  };
  agent = await f.agent('opA');
  // a customer of the campaign with the known number
  customerId = randomUUID();
  const now = new Date();
  const db = f.stack.gateway.ctx.db;
  await db
    .insertInto('customers')
    .values({ id: customerId, org_id: f.orgId, campaign_id: f.campaignId, name_kanji: '山田太郎', name_kana: 'ヤマダタロウ', name_kanji_key: '山田太郎', name_kana_key: 'やまだたろう', email: null, fields: JSON.stringify({}), created_at: now, updated_at: now })
    .execute();
  await db.insertInto('customer_phones').values({ customer_id: customerId, e164: KNOWN, campaign_id: f.campaignId, org_id: f.orgId }).execute();
});
afterAll(async () => {
  op?.close();
  agent?.close();
  carrier?.close();
  await f?.close();
});

/**
 * One DID call as the carrier sends it: routed to opA? and the gateway's call row. The phone
 * refuses it (486): Kamailio asks the gateway for the next operator with the refused branch, the
 * gateway ends the call in opA's model (busy) and, nobody else being assigned, the caller waits in
 * the campaign's queue (issue 15: 183 with early media); the caller then hangs up (CANCEL, 487).
 * `res` is the final response: 487 after waiting, or the refusal of a call never routed.
 */
async function call(o: { fromUri?: string; extra?: string[]; callId?: string; did?: string }) {
  await agent.setState('ready');
  const callId = o.callId ?? `${randomBytes(8).toString('hex')}@carrier`;
  const before = invites.length;
  const final = carrier.invite({ did: o.did ?? f.did, callId, ...(o.fromUri ? { fromUri: o.fromUri } : {}), ...(o.extra ? { extra: o.extra } : {}) });
  let over = false;
  const settled = final.then(() => 'final' as const, () => 'final' as const).finally(() => (over = true));
  const heldAt = async () => {
    while (!over) {
      if (carrier.received.some((m) => m.status === 183 && hdr(m, 'call-id') === callId && invites.slice(before).some((i) => hdr(i, 'call-id') === callId))) return 'held' as const;
      await new Promise((r) => setTimeout(r, 20));
    }
    return 'final' as const;
  };
  const first = await Promise.race([settled, heldAt()]);
  let held = false;
  if (first === 'held') {
    held = true;
    await carrier.cancel(callId);
  }
  const res = await final;
  const reached = invites.slice(before).find((m) => hdr(m, 'call-id') === callId);
  if (reached) await agent.seen((m) => m.type === 'operatorState' && m.view.calls.some((c: { callId: string; state: string }) => c.callId === callId && c.state === 'ended'));
  const row = await f.stack.gateway.ctx.db.selectFrom('calls').selectAll().where('sip_call_id', '=', callId).where('operator_id', 'is not', null).executeTakeFirst();
  return { res, reached, row, callId, held };
}

describe('callers as carriers send them (issue 11 item 6)', () => {
  const host = '203.0.113.10';
  const known: [string, { fromUri?: string; extra?: string[] }][] = [
    ['E.164 with ;cpc= and ;user=phone', { fromUri: `<sip:${KNOWN};cpc=ordinary@${host};user=phone>` }],
    ['national form 090...', { fromUri: `"山田" <sip:09012345678@${host};user=phone>` }],
    ['81... without +', { fromUri: `<sip:819012345678@${host}>` }],
    ['tel: URI with visual separators', { fromUri: `<tel:+81-90-1234-5678;cpc=ordinary>` }],
    ['percent-encoded +', { fromUri: `<sip:%2B819012345678@${host}>` }],
    ['anonymous From, number in P-Asserted-Identity', { fromUri: `"Anonymous" <sip:anonymous@anonymous.invalid>`, extra: [`P-Asserted-Identity: <sip:${KNOWN}@${host};user=phone>`] }],
  ];
  for (const [name, form] of known) {
    it(`a known caller, ${name}: routed with the customer card`, async () => {
      const { res, reached, row, held } = await call(form);
      expect([res.status, held], `${res.startLine}\n${f.logs()}`).toEqual([487, true]);
      expect(reached, 'the operator was rung').toBeTruthy();
      expect(row).toMatchObject({ caller_e164: KNOWN, customer_id: customerId, dialled_e164: f.did });
    });
  }

  const unknown: [string, { fromUri?: string; extra?: string[] }][] = [
    ['withheld: sip:anonymous@anonymous.invalid', { fromUri: `"Anonymous" <sip:anonymous@anonymous.invalid>` }],
    ['withheld: Privacy: id with the number in P-Asserted-Identity', { fromUri: `<sip:anonymous@anonymous.invalid>`, extra: [`P-Asserted-Identity: <sip:${KNOWN}@${host}>`, 'Privacy: id'] }],
    ['withheld: Privacy: id even with the number in From', { fromUri: `<sip:${KNOWN}@${host}>`, extra: ['Privacy: id;critical'] }],
    ['no user part', { fromUri: `<sip:anonymous.invalid>` }],
    ['no user part, plain host', { fromUri: `<sip:${host}>` }],
    ['an empty display name and tel:', { fromUri: `"" <tel:anonymous>` }],
    ['Anonymous (capitalised) user', { fromUri: `<sip:Anonymous@${host}>` }],
    ['a 70-character caller', { fromUri: `<sip:${'+8190'.padEnd(72, '1')}@${host}>` }],
    ['a 200-character user part with parameters', { fromUri: `<sip:${'x'.repeat(150)};cpc=ordinary;foo=${'y'.repeat(50)}@${host};user=phone>` }],
    ['a non-numeric user', { fromUri: `<sip:customer.service@${host}>` }],
  ];
  for (const [name, form] of unknown) {
    it(`${name}: routed as "unknown caller" (no card, no number), never 503`, async () => {
      const { res, reached, row, held } = await call(form);
      expect([res.status, held], `${res.startLine}\n${f.logs()}`).toEqual([487, true]);
      expect(reached, 'the operator was rung').toBeTruthy();
      expect(row).toMatchObject({ caller_e164: null, customer_id: null, dialled_e164: f.did });
    });
  }

  it('an empty user part (sip:@host, not a SIP URI by RFC 3261) is a clear 400 from the sanity check, never 503', async () => {
    const { res, reached } = await call({ fromUri: `<sip:@${host}>` });
    expect(res.status, res.startLine).toBe(400);
    expect(res.startLine).toMatch(/Invalid From/);
    expect(reached).toBeUndefined();
  });

  it('the screen pop shows what the routing decided: a withheld caller stays unknown even if the phone shows a number; a parameterised one gets the card', async () => {
    const token = await f.token('opA');
    const withheld = await call({ fromUri: `<sip:${KNOWN}@${host}>`, extra: ['Privacy: id'] });
    const pop1 = await f.api('POST', '/screen-pop', token, { callId: withheld.callId, callerNumber: KNOWN, dialledNumber: f.did });
    expect(pop1.status, JSON.stringify(pop1.body)).toBe(200);
    expect(pop1.body.status).toBe('unknown');
    const param = await call({ fromUri: `<sip:${KNOWN};cpc=ordinary@${host};user=phone>` });
    const pop2 = await f.api('POST', '/screen-pop', token, { callId: param.callId, callerNumber: `${KNOWN};cpc=ordinary`, dialledNumber: f.did });
    expect(pop2.status, JSON.stringify(pop2.body)).toBe(200);
    expect(pop2.body.status).toBe('known');
    expect(pop2.body.customers.map((c: any) => c.id)).toEqual([customerId]);
    // a call the gateway did not route (another PBX): the phone's user part, by the same rule
    const pop3 = await f.api('POST', '/screen-pop', token, { callId: `${randomUUID()}@pbx`, callerNumber: `${KNOWN};cpc=ordinary`, dialledNumber: f.did });
    expect(pop3.body.status).toBe('known');
    const pop4 = await f.api('POST', '/screen-pop', token, { callId: `${randomUUID()}@pbx`, callerNumber: '', dialledNumber: f.did });
    expect(pop4.status, JSON.stringify(pop4.body)).toBe(200);
    expect(pop4.body.status).toBe('unknown');
  });
});

describe('Call-IDs and DIDs as carriers send them', () => {
  it('a 300-character Call-ID (and one of 1024) is routed and stored verbatim; the screen pop takes it; over 1024 is a clear 400, not 503', async () => {
    for (const len of [300, 1024]) {
      const callId = `${'a'.repeat(len - 8)}@carrier`;
      const { res, reached, row, held } = await call({ fromUri: `<sip:${KNOWN}@203.0.113.10>`, callId });
      expect([res.status, held], res.startLine).toEqual([487, true]);
      expect(reached).toBeTruthy();
      expect(row?.sip_call_id).toBe(callId);
      const pop = await f.api('POST', '/screen-pop', await f.token('opA'), { callId, callerNumber: KNOWN, dialledNumber: f.did });
      expect(pop.status, JSON.stringify(pop.body)).toBe(200);
    }
    const over = await call({ callId: `${'b'.repeat(1025 - 8)}@carrier` });
    expect(over.res.status, over.res.startLine).toBe(400);
    expect(over.res.startLine).toMatch(/Call-ID Too Long/);
    expect(over.reached).toBeUndefined();
  });

  it('DIDs in national form (03..., 81... without +, with separators) are routed to the E.164 DID; X-Koe-DID carries the E.164', async () => {
    const national = `0${f.did.slice(3)}`;
    const noPlus = f.did.slice(1);
    const dashed = `0${f.did.slice(3, 4)}-${f.did.slice(4, 8)}-${f.did.slice(8)}`;
    for (const did of [national, noPlus, dashed, `010${noPlus}`]) {
      const { res, reached, row, held } = await call({ did, fromUri: `<sip:${KNOWN}@203.0.113.10>` });
      expect([res.status, held], `${did}: ${res.startLine}\n${f.logs()}`).toEqual([487, true]);
      expect(hdr(reached!, 'x-koe-did'), did).toBe(f.did);
      expect(row).toMatchObject({ dialled_e164: f.did, customer_id: customerId });
    }
    // a DID that is not ours, in any form: 404, not 503
    for (const did of ['0399999999', '81399999999', '+81399999999', '0123']) {
      const { res } = await call({ did });
      expect([404], `${did}: ${res.startLine}`).toContain(res.status);
    }
  });
});
