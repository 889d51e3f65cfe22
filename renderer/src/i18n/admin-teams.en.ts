import type { adminTeamsJa } from './admin-teams.ja';

export const adminTeamsEn: typeof adminTeamsJa = {
  heading: 'Teams',
  list: 'Teams',
  name: 'Team name',
  leads: 'Leads',
  operators: 'Operators',
  counts: '{{leads}} lead(s), {{operators}} operator(s)',
  edit: 'Edit {{name}}',
  none: 'No teams yet.',
  create: { heading: 'Create a team', submit: 'Create', done: 'Team "{{name}}" created.' },
  editor: { heading: 'Team "{{name}}"', rename: 'Rename', renamed: 'Renamed.', saveMembers: 'Save members', membersSaved: 'Members saved.', close: 'Close' },
  delete: {
    button: 'Delete team',
    title: 'Delete the team "{{name}}"?',
    body: 'Its memberships end, and its leads no longer supervise its operators. The users themselves, their calls, notes and recordings, and the audit log are kept. The deletion is recorded in the audit log.',
  },
  readOnly: 'You may view teams but not change them (teams:manage).',
};
