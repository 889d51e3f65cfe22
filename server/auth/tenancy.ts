// Tenancy: what a by-id lookup answers when the id is not in the caller's org.
//
// Every "load X of my org" path queries with the org (and, in the CRM, the campaign scope)
// in its WHERE clause; when that finds nothing it calls `notFound` below, which answers
// with exactly the error a nonexistent id gets (same code, same message, same extra). If the
// id does exist in another org, the same error also carries an `access.cross_org_probe`
// entry, written by route() (server/http.ts) after the request's transaction is gone.
//
// Where that entry goes: platform level (org_id null, visible to no org through the API,
// read with the CLI `audit export`), with the prober's org, user and address. An entry in
// the prober's org would tell anyone there with audit:read that the id exists elsewhere —
// the very fact the identical answer hides — and an entry in the owner's org would tell it
// about another org's users. The prober's identity is recorded in full.
import type { GatewayError } from '../errors';
import type { Executor } from '../db/schema';
import { eventBy, type AuditEvent } from '../audit/audit';
import type { Principal } from './principal-type';
import { AuditedRefusal } from './audited-refusal';

/** Tables whose rows belong to one org (each has `id` and `org_id`). */
export type OrgTable = 'users' | 'devices' | 'device_alerts' | 'webhooks' | 'roles' | 'teams' | 'campaigns' | 'customers' | 'notes' | 'sessions';

/**
 * The error to throw for `id` not found in p's org (or scope): `error` itself, or, when the
 * id exists in another org, an identical error that also records the probe.
 */
export async function notFound(ex: Executor, p: Principal, table: OrgTable, id: string, error: GatewayError): Promise<GatewayError> {
  const owners = await ex.selectFrom(table).select('org_id').where('id', '=', id).execute();
  const owner = owners[0]?.org_id;
  if (!owner || owner === p.orgId) return error;
  return new AuditedRefusal(error.code, error.message, crossOrgProbe(p, table, [id], owner), error.extra);
}

/** Ids among `ids` that exist in another org than p's (for lists of ids in a body). */
export async function probeIds(ex: Executor, p: Principal, table: OrgTable, ids: string[], error: GatewayError): Promise<GatewayError> {
  if (ids.length === 0) return error;
  const rows = await ex.selectFrom(table).select(['id', 'org_id']).where('id', 'in', ids).where('org_id', '<>', p.orgId).execute();
  if (rows.length === 0) return error;
  return new AuditedRefusal(error.code, error.message, crossOrgProbe(p, table, rows.map((r) => r.id).sort(), rows[0]!.org_id), error.extra);
}

function crossOrgProbe(p: Principal, table: OrgTable, ids: string[], ownerOrgId: string): AuditEvent {
  const detail = { table, ids, proberOrgId: p.orgId, ownerOrgId };
  return { ...eventBy(p, 'access.cross_org_probe', { type: table, id: ids[0]! }, detail), orgId: null };
}
