// Transfers (docs/telephony.md "Transfers"): Kamailio decides every REFER by its policy
// (koe.cfg route[REFER_POLICY]: an operator, a party of the call, to a colleague or an allowed
// number; never the far end) and reports each one here. Every report becomes an audit entry in
// the org of the operator (or, for a far-end REFER, of the call): `sip.transfer` when it was
// accepted, `sip.transfer_refused` when not. Kamailio refuses an accepted REFER whose report
// was not audited (any HTTP status other than 200).
import { appendAudit } from '../audit/audit';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';

export interface TransferReport {
  callId: string;
  by: string;
  operator: string;
  target: string;
  kind: string;
  allowed: '0' | '1';
}

export async function auditTransfer(
  ctx: GatewayContext,
  q: TransferReport,
  sourceIp: string,
  warn: (obj: Record<string, unknown>, msg: string) => void,
): Promise<true> {
  const { db, clock } = ctx;
  // SIP users are lower-cased usernames (sipUserOf); usernames are unique across orgs.
  // The actor is the operator who sent the REFER; a far-end REFER has none, its org is the
  // call operator's (or the call row's).
  const sipUser = q.by === 'trunk' ? q.operator : q.by;
  const row = sipUser
    ? await db.selectFrom('users').select(['id', 'org_id', 'username']).where((eb) => eb(eb.fn('lower', ['username']), '=', sipUser)).executeTakeFirst()
    : undefined;
  const user = q.by === 'trunk' ? undefined : row;
  let orgId = row?.org_id ?? null;
  if (!orgId) {
    const call = await db.selectFrom('calls').select('org_id').where('sip_call_id', '=', q.callId).executeTakeFirst();
    orgId = call?.org_id ?? null;
  }
  if (!orgId) {
    warn({ by: q.by, kind: q.kind, allowed: q.allowed }, 'sip transfer report: neither the operator nor the call is known; not audited');
    throw new GatewayError('not_found', 'neither the operator nor the call of this transfer is known');
  }
  await db.transaction().execute((tx) =>
    appendAudit(tx, clock, {
      action: q.allowed === '1' ? 'sip.transfer' : 'sip.transfer_refused',
      orgId,
      actor: user ? { userId: user.id, username: user.username } : null,
      target: { type: 'call', id: q.callId },
      sourceIp,
      detail: { by: q.by, operator: q.operator || null, to: q.target, kind: q.kind },
    }),
  );
  return true;
}
