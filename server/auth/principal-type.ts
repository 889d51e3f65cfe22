// What an authenticated caller is (server/principal.ts makes one from a token): a module of its
// own, with no gateway context, so the modules that only read a principal (scope rules,
// supervision) do not import the authentication machinery and its context.
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
  /** The session's absolute end (a live /ws closes itself then without asking the database). */
  sessionExpiresAt: Date;
}

export function parsePermissions(value: unknown): Permission[] {
  const list = jsonColumn<unknown>(value);
  return Array.isArray(list) ? (list as Permission[]) : [];
}

/** Actor fields for audit entries. */
export const actorOf = (p: Principal) => ({ userId: p.userId, username: p.username });
