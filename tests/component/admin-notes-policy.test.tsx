// The admin console's note editing policy (issue 18 item 5): notes.editWindowMinutes and
// notes.closedNotesEditable in their own group, checked as the admin types with the gateway's own
// schema (0-1440 whole minutes), saved as only what changed. The gateway is a fake `call`.
import { cleanup, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { mountPolicySection } from './policy-harness';
import { en } from '../../renderer/src/i18n/en';

afterEach(() => cleanup());

const setup = mountPolicySection;

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
