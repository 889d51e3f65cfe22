// The console's sections, in the order the console lists them. Each names the permission that
// opens it (a user without it never sees the section, and the gateway refuses its calls anyway:
// server/http.ts route() checks the route's permission on every request). A section's actions
// that need more (users:manage beyond users:read) check `can()` and the gateway again refuses.
import type { ConsoleSection } from './section-types';
import { DevicesSection } from './users/DevicesSection';
import { SessionsSection } from './users/SessionsSection';
import { UsersSection } from './users/UsersSection';
import { CampaignsSection } from './org/CampaignsSection';
import { RolesSection } from './org/RolesSection';
import { TeamsSection } from './org/TeamsSection';
import { AlertsSection } from './alerts/AlertsSection';
import { WebhooksSection } from './webhooks/WebhooksSection';
import { AuditSection } from './audit/AuditSection';
import { PolicySection } from './policy/PolicySection';

export const SECTIONS: readonly ConsoleSection[] = [
  { id: 'users', permission: 'users:read', Component: UsersSection },
  { id: 'teams', permission: 'users:read', Component: TeamsSection },
  { id: 'roles', permission: 'users:read', Component: RolesSection },
  { id: 'campaigns', permission: 'campaigns:manage', Component: CampaignsSection },
  { id: 'devices', permission: 'devices:manage', Component: DevicesSection },
  { id: 'sessions', permission: 'sessions:manage', Component: SessionsSection },
  { id: 'alerts', permission: 'alerts:read', Component: AlertsSection },
  { id: 'webhooks', permission: 'policy:manage', Component: WebhooksSection },
  { id: 'policy', permission: 'policy:manage', Component: PolicySection },
  { id: 'audit', permission: 'audit:read', Component: AuditSection },
];
