// CRM routes: campaigns, customers, the screen pop, calls, notes, export; one module each in
// server/crm/, with their queries beside them and the shared pieces in queries.ts and views.ts.
//
// Scope (server/crm/scope.ts) goes into the WHERE clause of every read. A row outside the
// caller's campaigns answers exactly like a row that does not exist: the same query runs,
// returns zero rows, and the handler throws the same not_found (or returns the same empty
// list / "unknown caller"). No existence check runs first; after a miss on an id the client
// sent, server/auth/tenancy.ts looks whether it is another org's row, to audit the probe
// (the answer stays the same).
// Card numbers are redacted (shared/rules/card-redaction.ts) in note bodies, free-field
// strings and search terms before they touch the database or a log line.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context';
import { registerCallRoutes } from './calls';
import { registerCampaignRoutes } from './campaigns';
import { registerCustomerRoutes } from './customers';
import { registerExportRoutes } from './export';
import { registerNoteRoutes } from './notes';
import { buildCard } from './screen-pop';
import { route } from '../http';

export function registerCrmRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  registerCampaignRoutes(app, ctx);
  registerCustomerRoutes(app, ctx);
  route(app, ctx, 'screenPop', async ({ principal, body }) => buildCard(ctx, principal, body));
  registerCallRoutes(app, ctx);
  registerNoteRoutes(app, ctx);
  registerExportRoutes(app, ctx);
}
