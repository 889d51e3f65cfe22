// A role as the admin console shows it: the built-in roles (operator, team_lead, admin) are
// stored with an English name (shared/gateway/permissions.ts BUILTIN_ROLES); while an admin has
// not renamed one, the console shows it in the UI language. A custom role, or a renamed
// built-in one, is shown as the org named it.
import type { TFunction } from 'i18next';
import { BUILTIN_ROLES } from '../../../../shared/gateway/permissions';

export function roleLabel(t: TFunction, role: { key: string; name: string }): string {
  const builtin = (BUILTIN_ROLES as Record<string, { name: string } | undefined>)[role.key];
  return builtin && builtin.name === role.name ? t(`admin.roles.builtinName.${role.key}`) : role.name;
}
