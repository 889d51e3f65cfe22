import type { UserView } from '../../shared/gateway/api';
import type { Executor } from '../db/schema';
import { GatewayError } from '../errors';
import { loadUserAccess } from '../principal';

export async function userView(db: Executor, userId: string, now: Date): Promise<UserView> {
  const u = await loadUserAccess(db, userId);
  if (!u) throw new GatewayError('not_found', 'no such user');
  const lock = await db.selectFrom('account_locks').select('locked_until').where('username', '=', u.username).executeTakeFirst();
  return {
    id: u.id,
    orgId: u.org_id,
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    permissions: [...u.permissions].sort(),
    teamIds: u.teamIds,
    disabled: u.disabled,
    totpEnabled: u.totp_enabled,
    locked: !!lock && lock.locked_until > now,
  };
}

export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
