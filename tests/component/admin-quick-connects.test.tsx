// The org's quick connects in the console's campaigns section (issue 18 item 6): added with the
// keyboard, checked with the gateway's own schema before anything is sent, removed; ja and en.
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PERMISSIONS, type Permission } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';
import { CampaignsSection } from '../../renderer/src/features/admin/org/CampaignsSection';

afterEach(() => cleanup());

function setup(language: 'ja' | 'en' = 'ja') {
  let list = [{ id: '00000000-0000-4000-8000-000000000001', name: '本社代表', number: '+81311112222', createdAt: '2026-01-01T00:00:00.000Z' }];
  const fn = vi.fn(async (name: string, input: { body?: any; params?: any } = {}) => {
    if (name === 'listCampaigns') return { campaigns: [] };
    if (name === 'listQuickConnects') return { quickConnects: list };
    if (name === 'createQuickConnect') {
      const q = { id: '00000000-0000-4000-8000-000000000002', name: input.body.name, number: input.body.number, createdAt: '2026-01-02T00:00:00.000Z' };
      list = [...list, q];
      return q;
    }
    if (name === 'deleteQuickConnect') {
      list = list.filter((q) => q.id !== input.params.id);
      return { ok: true };
    }
    throw new Error(`unexpected call ${name}`);
  });
  const can = (p: Permission) => [...PERMISSIONS].includes(p);
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <CampaignsSection can={can} call={fn as unknown as AdminCall} />
    </I18nextProvider>,
  );
  return fn;
}

describe('quick connects in the console', () => {
  it('lists, adds (a number in any written form is sent as E.164) and removes them; a bad number is refused before sending', async () => {
    const fn = setup();
    const section = await screen.findByTestId('quick-connects');
    await waitFor(() => expect(within(section).getAllByTestId('quick-connect').map((li) => li.textContent)).toEqual(['本社代表 03-1111-2222E.164表示 本社代表 を削除']));
    await userEvent.type(within(section).getByLabelText('名前'), '経理部');
    await userEvent.type(within(section).getByLabelText('番号（例: 03-1234-5678）'), 'abc');
    await userEvent.keyboard('{Enter}');
    expect(within(section).getByTestId('quick-connect-number').getAttribute('aria-invalid')).toBe('true');
    expect(fn).not.toHaveBeenCalledWith('createQuickConnect', expect.anything());
    await userEvent.clear(within(section).getByTestId('quick-connect-number'));
    await userEvent.type(within(section).getByTestId('quick-connect-number'), '03-2222-3333{Enter}');
    await waitFor(() => expect(fn).toHaveBeenCalledWith('createQuickConnect', { body: { name: '経理部', number: '+81322223333' } }));
    await waitFor(() => expect(within(section).getAllByTestId('quick-connect')).toHaveLength(2));
    expect((within(section).getByTestId('quick-connect-name') as HTMLInputElement).value).toBe('');
    await userEvent.click(within(section).getByTestId('quick-connect-remove-本社代表'));
    await waitFor(() => expect(within(section).getAllByTestId('quick-connect')).toHaveLength(1));
    expect(fn).toHaveBeenCalledWith('deleteQuickConnect', { params: { id: '00000000-0000-4000-8000-000000000001' } });
  });

  it('reads in English', async () => {
    setup('en');
    const section = await screen.findByTestId('quick-connects');
    expect(within(section).getByRole('heading').textContent).toBe('Quick connects (transfer directory)');
    expect(await within(section).findByRole('button', { name: 'Remove 本社代表' })).toBeTruthy();
  });
});
