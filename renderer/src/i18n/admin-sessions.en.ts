import type { adminSessionsJa } from './admin-sessions.ja';

export const adminSessionsEn: typeof adminSessionsJa = {
  heading: 'Signed-in sessions',
  user: 'User',
  device: 'PC',
  address: 'Address',
  created: 'Signed in',
  lastSeen: 'Last active',
  actions: 'Actions',
  noDevice: '(no PC)',
  unknown: 'Unknown',
  thisSession: 'This session',
  revoke: 'Revoke',
  revokeLabel: 'Revoke the session of {{name}} ({{device}})',
  revokeUser: 'Revoke all',
  revokeUserLabel: 'Revoke all sessions of {{name}}',
  reload: 'Reload',
  confirmOne: 'Revoke this session of {{name}} ({{device}}, {{address}})? Its open window signs out.',
  confirmOwn: 'This is your own session: revoking it signs this window out.',
  confirmUser: 'Revoke every session of {{name}}? All their open windows sign out.',
  revoked: '{{count}} session(s) revoked.',
  count: 'Showing {{count}}',
};
