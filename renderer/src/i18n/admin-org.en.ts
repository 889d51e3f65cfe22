import type { adminOrgJa } from './admin-org.ja';

export const adminOrgEn: typeof adminOrgJa = {
  picker: {
    search: 'Search {{what}} (username or display name)',
    searchButton: 'Search',
    add: 'Add',
    remove: 'Remove {{name}}',
    selected: '{{what}} ({{count}})',
    noneSelected: 'None yet.',
    noResults: 'No user matches.',
    disabled: 'disabled',
  },
  confirm: {
    ok: 'Confirm',
    cancel: 'Cancel',
  },
  inUse: {
    lead: 'In use, so it cannot be deleted:',
    users: '{{n}} user(s) hold this role. Give them another role first.',
    calls: '{{n}} call record(s)',
    customers: '{{n}} customer(s)',
    notes: '{{n}} note(s)',
    recordings: '{{n}} recording(s)',
    queued: '{{n}} waiting call(s)',
    overflow: 'the overflow of {{n}} other campaign(s)',
    campaignHint: 'A campaign with history cannot be deleted. Disable it instead.',
  },
  invalid: 'Please check what you entered:',
  deleted: 'Deleted.',
};
