// Permissions are data: a role is a named set of these strings, so custom roles are rows,
// not code. The built-in roles below are what a new org starts with.

export const PERMISSIONS = [
  'calls:handle',
  'customers:read',
  'team:read',
  'team:supervise',
  'users:read',
  'users:manage',
  'roles:manage',
  'teams:manage',
  'devices:manage',
  'sessions:manage',
  'policy:manage',
  'audit:read',
  'alerts:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const BUILTIN_ROLES: Record<'operator' | 'team_lead' | 'admin', { name: string; permissions: Permission[] }> = {
  operator: { name: 'Operator', permissions: ['calls:handle', 'customers:read'] },
  team_lead: {
    name: 'Team lead',
    permissions: ['calls:handle', 'customers:read', 'team:read', 'team:supervise'],
  },
  admin: {
    name: 'Administrator',
    permissions: [...PERMISSIONS],
  },
};
