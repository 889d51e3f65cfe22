// What an authenticated caller is (server/principal.ts makes one from a token): a module of its
// own, with no gateway context, so the modules that only read a principal (scope rules,
// supervision) do not import the authentication machinery and its context.
import type { RouteName } from '../../shared/gateway/api';
import type { ErrorCode } from '../../shared/gateway/errors';
import type { Permission } from '../../shared/gateway/permissions';
import { jsonColumn } from '../db/json-column';

export interface Principal {
  userId: string;
  orgId: string;
  username: string;
  displayName: string;
  role: string;
  permissions: ReadonlySet<Permission>;
  teamIds: string[];
  sessionId: string;
  deviceId: string | null;
  sourceIp: string;
  /** Policy requires TOTP and the user has none yet: only enrolment routes are open. */
  totpEnrolmentOnly: boolean;
  /** The password is a temporary one an admin set (users.must_change_password): only the change is open. */
  passwordChangeRequired: boolean;
  /** The session's absolute end (a live /ws closes itself then without asking the database). */
  sessionExpiresAt: Date;
}

export function parsePermissions(value: unknown): Permission[] {
  const list = jsonColumn<unknown>(value);
  return Array.isArray(list) ? (list as Permission[]) : [];
}

/** Actor fields for audit entries. */
export const actorOf = (p: Principal) => ({ userId: p.userId, username: p.username });

/**
 * A limited session: the routes it may use, and the refusal everywhere else. The ONE rule for
 * both limits: every HTTP route (server/http.ts route()) and the /ws auth (server/ws/connection.ts)
 * ask sessionLimit(). A temporary password comes first (whoever set it knows it: nothing else,
 * TOTP enrolment included, until it is changed); then a TOTP enrolment the policy requires.
 * Both always allow /me, sign-out and the client policy (the idle lock and capture protection
 * apply while the user finishes), with the lock's report and the unlock (re-verification) that
 * idle lock needs. The principal is read from the database on every request, so
 * the same session becomes full as soon as the password is changed or the TOTP confirmed.
 */
export interface SessionLimit {
  kind: 'password_change' | 'totp_enrolment';
  code: Extract<ErrorCode, 'password_change_required' | 'totp_enrolment_required'>;
  message: string;
  routes: ReadonlySet<RouteName>;
}

const ALWAYS_OPEN: RouteName[] = ['me', 'signOut', 'clientPolicy', 'lockEvent', 'reverify'];
export const SESSION_LIMITS: Readonly<Record<SessionLimit['kind'], SessionLimit>> = {
  password_change: {
    kind: 'password_change',
    code: 'password_change_required',
    message: 'your password was reset by an administrator: change it first (POST /me/password)',
    routes: new Set<RouteName>([...ALWAYS_OPEN, 'changePassword', 'passwordPolicy']),
  },
  totp_enrolment: {
    kind: 'totp_enrolment',
    code: 'totp_enrolment_required',
    message: 'enrol TOTP (POST /me/totp/enrol, then /me/totp/confirm) first',
    routes: new Set<RouteName>([...ALWAYS_OPEN, 'totpEnrol', 'totpConfirm']),
  },
};

export function sessionLimit(p: Pick<Principal, 'passwordChangeRequired' | 'totpEnrolmentOnly'>): SessionLimit | null {
  if (p.passwordChangeRequired) return SESSION_LIMITS.password_change;
  if (p.totpEnrolmentOnly) return SESSION_LIMITS.totp_enrolment;
  return null;
}
