// /admin/*: users, roles, teams, devices, alerts, sessions, policy, audit, one module each in
// server/admin/. Every route is scoped to the caller's org (a row of another org answers exactly
// like a nonexistent one, and the probe is audited: server/auth/tenancy.ts) and every change is
// audited in the same transaction as the change. Who may grant, assign or act on whom is
// decided by server/auth/authority.ts, on every route that grants or resets.
import type { FastifyInstance } from 'fastify';
import { registerAdminDeviceRoutes } from './devices';
import { registerAdminOrgRoutes } from './org';
import { registerAdminPolicyAuditRoutes } from './policy-audit';
import { registerAdminRoleTeamRoutes } from './roles-teams';
import { registerAdminSessionRoutes } from './sessions';
import { registerAdminUserRoutes } from './users';
import type { GatewayContext } from '../context';
import { registerAlertRoutes } from '../alerts/routes';

export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  registerAdminUserRoutes(app, ctx);
  registerAdminDeviceRoutes(app, ctx);
  registerAdminRoleTeamRoutes(app, ctx);
  registerAdminPolicyAuditRoutes(app, ctx);
  registerAdminOrgRoutes(app, ctx);
  registerAdminSessionRoutes(app, ctx);
  registerAlertRoutes(app, ctx);
}
