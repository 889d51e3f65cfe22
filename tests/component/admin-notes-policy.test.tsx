// The admin console's note editing policy (issue 18 item 5): notes.editWindowMinutes and
// notes.closedNotesEditable in their own group, checked as the admin types with the gateway's own
// schema (0-1440 whole minutes), saved as only what changed. The gateway is a fake `call`.
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../shared/gateway/policy';
import type { Permission } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import { PolicySection } from '../../renderer/src/features/admin/policy/PolicySection';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';
import { en } from '../../renderer/src/i18n/en';

afterEach(() => cleanup());

const can = (p: Permission) => ['policy:manage', 'users:read'].includes(p);
const roles = async () => ({ roles: ['admin', 'operator'].map((key) => ({ id: crypto.randomUUID(), key, name: key, permissions: [], builtin: true })) });

function setup(language: 'ja' | 'en') {
  let stored: OrgPolicy = structuredClone(DEFAULT_ORG_POLICY);
  const patches: any[] = [];
  const call = vi.fn(async (name: string, input: { body?: any } = {}) => {
    if (name === 'getPolicy') return { policy: stored };
    if (name === 'listRoles') return roles();
    if (name === 'patchPolicy') {
      patches.push(input.body);
      stored = { ...stored, notes: { ...stored.notes, ...input.body.notes } };
      return { policy: stored };
    }
    throw new Error(`unexpected call ${name}`);
  }) as unknown as AdminCall;
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <PolicySection can={can} call={call} />
    </I18nextProvider>,
  );
  return { patches, stored: () => stored };
}

describe('org policy: editing notes', () => {
  it('ja: the window in minutes (checked as typed) and closed notes; only the changed field is saved', async () => {
    const { patches, stored } = setup('ja');
    const minutes = (await screen.findByLabelText('保存後にメモを編集できる時間（分。作成者のみ。0: 編集不可）')) as HTMLInputElement;
    expect(minutes.value).toBe('30');
    const closed = screen.getByLabelText('完了済みのメモも編集できるようにする') as HTMLInputElement;
    expect(closed.checked).toBe(false);
    expect(screen.getByText('メモの編集')).toBeTruthy();
    const user = userEvent.setup();
    await user.clear(minutes);
    await user.type(minutes, '1441');
    expect(screen.getByTestId('policy-field-notes-editWindowMinutes-issue').textContent).toBe('1440 以下にしてください。');
    expect(screen.getByTestId('policy-save')).toHaveProperty('disabled', true);
    await user.clear(minutes);
    await user.type(minutes, '-1');
    expect(screen.getByTestId('policy-field-notes-editWindowMinutes-issue').textContent).toBe('0 以上にしてください。');
    await user.clear(minutes);
    await user.type(minutes, '15');
    expect(screen.queryByTestId('policy-field-notes-editWindowMinutes-issue')).toBeNull();
    await user.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(stored().notes.editWindowMinutes).toBe(15));
    expect(patches).toEqual([{ notes: { editWindowMinutes: 15 } }]);
    expect(stored().notes.closedNotesEditable).toBe(false);
  });

  it('en: the labels, and turning on edits of closed notes', async () => {
    const { patches } = setup('en');
    await screen.findByLabelText(en.admin.policy.fields.notes.editWindowMinutes);
    expect(screen.getByText(en.admin.policy.groups.notes)).toBeTruthy();
    const user = userEvent.setup();
    await user.click(screen.getByLabelText(en.admin.policy.fields.notes.closedNotesEditable));
    await user.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(patches).toEqual([{ notes: { closedNotesEditable: true } }]));
  });
});
