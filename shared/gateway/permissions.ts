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
  // CRM: campaign scope is the set of campaigns a user is assigned to (team leads: also
  // those of their teams' operators); `campaigns:all` widens it to every campaign of the org.
  'campaigns:manage',
  'campaigns:all',
  'customers:write',
  'notes:write',
  'export:read',
  // Recordings (docs/telephony.md "Recordings"): listen (scoped like customers; operators their
  // own calls only if org policy recordings.operatorsHearOwnCalls), and manage (legal holds,
  // deletion on request of a recording or of all a customer's data).
  'recordings:play',
  'recordings:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const BUILTIN_ROLES: Record<'operator' | 'team_lead' | 'admin', { name: string; permissions: Permission[] }> = {
  operator: { name: 'Operator', permissions: ['calls:handle', 'customers:read', 'customers:write', 'notes:write'] },
  team_lead: {
    name: 'Team lead',
    permissions: ['calls:handle', 'customers:read', 'customers:write', 'notes:write', 'team:read', 'team:supervise', 'recordings:play'],
  },
  admin: {
    name: 'Administrator',
    permissions: [...PERMISSIONS],
  },
};
