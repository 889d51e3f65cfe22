// The org policy form as data (no React): every field of OrgPolicySchema an admin sets, the
// form's text values to and from a policy, the issues of the SAME schemas the gateway parses
// with (shared/gateway/policy.ts) mapped to the field they belong to, and the PATCH body of only
// the fields that changed.
import type { z } from 'zod';
import { OrgPolicyPatchSchema, OrgPolicySchema, type OrgPolicy, type OrgPolicyPatch } from '../../../../../shared/gateway/policy';

/** `reasons`: the not-ready reasons, one a line as `code | 日本語 | English`. */
export type FieldKind = 'int' | 'bool' | 'lines' | 'reasons' | 'lang' | 'zone' | 'roles';
export interface FieldDef {
  /** Dotted path into the policy; also the i18n key admin.policy.fields.<path> and the test id policy-field-<path>. */
  path: string;
  kind: FieldKind;
}

const f = (path: string, kind: FieldKind): FieldDef => ({ path, kind });

/** The fields, by group, in the order shown. IP allowlists (org and per role) are added per role by the form. */
export const GROUPS: { id: string; fields: FieldDef[] }[] = [
  {
    id: 'password',
    fields: [
      f('password.minLength', 'int'), f('password.maxLength', 'int'), f('password.requireUpper', 'bool'), f('password.requireLower', 'bool'),
      f('password.requireDigit', 'bool'), f('password.requireSymbol', 'bool'), f('password.historyCount', 'int'), f('password.blocklist', 'lines'),
    ],
  },
  { id: 'lockout', fields: [f('lockout.maxFailures', 'int'), f('lockout.windowMinutes', 'int'), f('lockout.lockMinutes', 'int')] },
  { id: 'sessions', fields: [f('sessions.accessTokenMinutes', 'int'), f('sessions.idleMinutes', 'int'), f('sessions.absoluteHours', 'int')] },
  { id: 'client', fields: [f('client.idleTimeoutSeconds', 'int'), f('client.contentProtection', 'bool'), f('client.blurOnFocusLoss', 'bool')] },
  {
    id: 'agents',
    fields: [
      f('agents.wrapUpSeconds', 'int'), f('agents.wrapUpExtendSeconds', 'int'), f('agents.wrapUpMaxExtensions', 'int'), f('agents.ringSeconds', 'int'),
      f('agents.clientGraceSeconds', 'int'), f('agents.notReadyReasons', 'reasons'),
    ],
  },
  { id: 'supervision', fields: [f('supervision.announce', 'bool')] },
  { id: 'board', fields: [f('board.longCallSeconds', 'int'), f('board.longWrapUpSeconds', 'int'), f('board.longNotReadySeconds', 'int')] },
  { id: 'announcements', fields: [f('announcements.language', 'lang'), f('announcements.recordingNotice', 'bool')] },
  { id: 'recordings', fields: [f('recordings.operatorsHearOwnCalls', 'bool')] },
  { id: 'notes', fields: [f('notes.editWindowMinutes', 'int'), f('notes.closedNotesEditable', 'bool')] },
  { id: 'general', fields: [f('timeZone', 'zone')] },
  { id: 'roles', fields: [f('totpRequiredRoles', 'roles'), f('deviceBindingRoles', 'roles')] },
];

export const ORG_LIST = 'ipAllowlist.org';
export const roleListPath = (role: string) => `ipAllowlist.roles.${role}`;

export type FormValue = string | boolean | string[];
export type Form = Record<string, FormValue>;

function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);

/** The separator of a reason line's code and labels (`lunch | 昼休憩 | Lunch`). */
export const REASON_SEPARATOR = ' | ';
/** A reason line as the schema sees it: a line without exactly three parts is left for the schema to name by its line. */
function reasonOf(line: string): Record<string, string> {
  const parts = line.split('|').map((p) => p.trim());
  return parts.length === 3 ? { code: parts[0]!, ja: parts[1]!, en: parts[2]! } : { code: line };
}

/** The field definitions for a policy and the org's roles: GROUPS, then the org list and one list per role. */
export function ipFields(roles: readonly string[]): FieldDef[] {
  return [f(ORG_LIST, 'lines'), ...roles.map((r) => f(roleListPath(r), 'lines'))];
}

/** Role keys to offer: the org's roles and any the policy names. */
export function roleKeys(policy: OrgPolicy, orgRoles: readonly string[]): string[] {
  return [...new Set([...orgRoles, ...policy.totpRequiredRoles, ...policy.deviceBindingRoles, ...Object.keys(policy.ipAllowlist.roles)])].sort();
}

export function toForm(policy: OrgPolicy, roles: readonly string[]): Form {
  const form: Form = {};
  for (const field of [...GROUPS.flatMap((g) => g.fields), ...ipFields(roles)]) {
    const v = at(policy, field.path);
    if (field.kind === 'int') form[field.path] = String(v);
    else if (field.kind === 'bool') form[field.path] = Boolean(v);
    else if (field.kind === 'roles') form[field.path] = [...((v as string[] | undefined) ?? [])].sort();
    else if (field.kind === 'lines') form[field.path] = ((v as string[] | undefined) ?? []).join('\n');
    else if (field.kind === 'reasons') form[field.path] = ((v as { code: string; ja: string; en: string }[] | undefined) ?? []).map((r) => [r.code, r.ja, r.en].join(REASON_SEPARATOR)).join('\n');
    else form[field.path] = String(v ?? '');
  }
  return form;
}

/** The whole policy the form describes (numbers that are not whole numbers stay text: the schema says so). */
export function candidate(base: OrgPolicy, form: Form): Record<string, unknown> {
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  const roleLists: Record<string, string[]> = {};
  for (const [path, value] of Object.entries(form)) {
    let v: unknown = value;
    if (path.startsWith('ipAllowlist.roles.')) {
      const list = lines(value as string);
      if (list.length > 0) roleLists[path.slice('ipAllowlist.roles.'.length)] = list;
      continue;
    }
    const kind = kindOf(path);
    if (kind === 'int') v = /^\s*-?\d+\s*$/.test(value as string) ? Number(value) : value;
    else if (kind === 'lines') v = lines(value as string);
    else if (kind === 'reasons') v = lines(value as string).map(reasonOf);
    else if (kind === 'zone') v = (value as string).trim();
    const keys = path.split('.');
    let o = out;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[keys[keys.length - 1]!] = v;
  }
  (out.ipAllowlist as Record<string, unknown>).roles = roleLists;
  return out;
}

const KINDS: ReadonlyMap<string, FieldKind> = new Map(GROUPS.flatMap((g) => g.fields).map((x) => [x.path, x.kind]));
function kindOf(path: string): FieldKind {
  return path === ORG_LIST || path.startsWith('ipAllowlist.roles.') ? 'lines' : KINDS.get(path) ?? 'zone';
}

export interface FieldIssue {
  /** i18n key under admin.policy.invalid */
  key: 'tooSmall' | 'tooBig' | 'tooMany' | 'number' | 'cidr' | 'line' | 'timeZone' | 'minOverMax' | 'other';
  values?: Record<string, string | number>;
}

/** The schema's issues (the gateway's own schema) by form field; empty when the policy would be accepted. */
export function fieldIssues(policy: Record<string, unknown>, fields: readonly string[]): Map<string, FieldIssue> {
  const issues = new Map<string, FieldIssue>();
  const parsed = OrgPolicySchema.safeParse(policy);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String);
      // the longest field whose path is a prefix of the issue's
      const field = [...fields].filter((p) => path.join('.').startsWith(p) && (path.join('.') === p || path.join('.')[p.length] === '.')).sort((a, b) => b.length - a.length)[0];
      if (!field || issues.has(field)) continue;
      issues.set(field, describe(issue, field, path));
    }
  } else if (parsed.data.password.minLength > parsed.data.password.maxLength) {
    // the gateway's rule beyond the schema (server/admin/policy-audit.ts)
    issues.set('password.maxLength', { key: 'minOverMax' });
  }
  return issues;
}

function describe(issue: z.core.$ZodIssue, field: string, path: string[]): FieldIssue {
  const depth = field.split('.').length;
  if (path.length > depth) {
    const line = Number(path[depth]) + 1;
    return { key: field.startsWith('ipAllowlist.') ? 'cidr' : 'line', values: { line } };
  }
  if (issue.code === 'invalid_type') return { key: 'number' };
  if (issue.code === 'too_small') return issue.origin === 'array' ? { key: 'other' } : { key: 'tooSmall', values: { min: Number(issue.minimum) } };
  if (issue.code === 'too_big') return issue.origin === 'array' ? { key: 'tooMany', values: { max: Number(issue.maximum) } } : { key: 'tooBig', values: { max: Number(issue.maximum) } };
  if (field === 'timeZone') return { key: 'timeZone' };
  return { key: 'other' };
}

const same = (a: FormValue | undefined, b: FormValue | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** The fields whose value differs from the saved policy's. */
export function changedFields(form: Form, saved: Form): string[] {
  return Object.keys({ ...form, ...saved }).filter((k) => !same(form[k], saved[k]));
}

/** The PATCH body: only the changed fields (a changed role list sends the whole role map, as the gateway replaces it). */
export function patchOf(policy: Record<string, unknown>, changed: readonly string[]): OrgPolicyPatch {
  const patch: Record<string, Record<string, unknown> | unknown> = {};
  for (const path of changed) {
    const keys = path.split('.');
    if (keys[0] === 'ipAllowlist') {
      const ip = ((patch.ipAllowlist ??= {}) as Record<string, unknown>);
      const full = policy.ipAllowlist as Record<string, unknown>;
      if (keys[1] === 'org') ip.org = full.org;
      else ip.roles = full.roles;
    } else if (keys.length === 1) patch[keys[0]!] = policy[keys[0]!];
    else ((patch[keys[0]!] ??= {}) as Record<string, unknown>)[keys[1]!] = (policy[keys[0]!] as Record<string, unknown>)[keys[1]!];
  }
  return OrgPolicyPatchSchema.parse(patch);
}
