import type { Messages } from './ja';
import { adminOrgEn } from './admin-org.en';
import { adminTeamsEn } from './admin-teams.en';
import { adminRolesEn } from './admin-roles.en';
import { adminCampaignsEn } from './admin-campaigns.en';
import { adminUsersEn } from './admin-users.en';
import { adminSessionsEn } from './admin-sessions.en';
import { adminDevicesEn } from './admin-devices.en';
import { adminAlertsEn, adminWebhooksEn } from './admin-alerts.en';
import { adminAuditEn } from './admin-audit.en';
import { adminPolicyEn } from './admin-policy.en';

export const adminEn: Messages['admin'] = {
  heading: 'Admin console',
  sectionsLabel: 'Administration',
  open: 'Admin console',
  back: 'Back to work',
  sections: {
    users: 'Users',
    teams: 'Teams',
    roles: 'Roles and permissions',
    campaigns: 'Campaigns',
    devices: 'Devices',
    sessions: 'Sessions',
    alerts: 'Alerts',
    webhooks: 'Webhooks',
    policy: 'Org policy',
    audit: 'Audit log',
  },
  alerts: adminAlertsEn,
  webhooks: adminWebhooksEn,
  common: {
    save: 'Save',
    saving: 'Saving…',
    saved: 'Saved.',
    cancel: 'Cancel',
    loading: 'Loading…',
    next: 'Next',
    previous: 'Previous',
    search: 'Search',
    none: 'Nothing matches.',
    confirm: 'Confirm',
  },
  org: adminOrgEn,
  teams: adminTeamsEn,
  roles: adminRolesEn,
  campaigns: adminCampaignsEn,
  users: adminUsersEn,
  sessions: adminSessionsEn,
  devices: adminDevicesEn,
  policy: adminPolicyEn,
  audit: adminAuditEn,
  errors: {
    forbidden: 'You do not have permission for this.',
    not_found: 'Not found. Another administrator may have deleted it: reload the list.',
    conflict: 'The name is taken, or another administrator changed this first. Reload the list and try again.',
    validation_failed: 'Please check what you entered.',
    password_policy: 'The password does not meet your organisation\'s rules.',
    rate_limited: 'Too many requests. Wait a moment and try again.',
    unreachable: 'Cannot reach the gateway. What you entered is kept: check the connection and save again.',
    policy_lockout: 'Saving this change would lock you out yourself.',
    last_admin: 'The last administrator cannot be disabled, deleted or demoted. Make someone else an administrator first.',
    in_use: 'It is in use and cannot be deleted.',
    session: 'Your session has ended. Please sign in again.',
    unexpected: 'Something went wrong. Please try again; if it keeps happening, contact IT.',
  },
};
