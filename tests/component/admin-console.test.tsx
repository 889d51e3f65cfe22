// The admin console's shell (issue 17): only the sections the user's permissions open, WAI-ARIA
// tabs driven by the keyboard alone, a half-typed form kept when switching tabs and views, and a
// ringing call bringing the work view back. The sections themselves have their own tests.
import { act, cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it } from 'vitest';
import { createI18n } from '../../renderer/src/i18n';
import { AdminConsole, consoleSectionsFor } from '../../renderer/src/features/admin/AdminConsole';
import { WorkspaceSwitch } from '../../renderer/src/features/admin/WorkspaceSwitch';
import type { ConsoleSection } from '../../renderer/src/features/admin/section-types';
import { initialPhoneState, usePhoneStore, type PhoneCall } from '../../renderer/src/features/phone/phone-store';
import type { ReactNode } from 'react';

function Draft({ label }: { label: string }) {
  return (
    <label>
      {label}
      <input data-testid={`draft-${label}`} />
    </label>
  );
}
const FAKE: ConsoleSection[] = [
  { id: 'users', permission: 'users:read', Component: () => <Draft label="users" /> },
  { id: 'policy', permission: 'policy:manage', Component: () => <Draft label="policy" /> },
  { id: 'audit', permission: 'audit:read', Component: () => <Draft label="audit" /> },
];

/** Rendered and not inside a hidden element (jsdom has no layout: `hidden` is what hides here). */
const shown = (el: Element) => el.closest('[hidden]') === null;

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}

afterEach(() => {
  cleanup();
  usePhoneStore.setState(initialPhoneState);
});

describe('admin console shell', () => {
  it('offers only the sections the permissions open, and nothing to an operator', () => {
    expect(consoleSectionsFor(['calls:handle', 'customers:read'], FAKE)).toEqual([]);
    expect(consoleSectionsFor(['audit:read'], FAKE).map((s) => s.id)).toEqual(['audit']);
    const { container } = mount(<AdminConsole permissions={['calls:handle']} sections={FAKE} />);
    expect(container.innerHTML).toBe('');
    cleanup();
    mount(<AdminConsole permissions={['users:read', 'audit:read']} sections={FAKE} />);
    expect(screen.getAllByRole('tab').map((t) => t.textContent)).toEqual(['ユーザー', '監査ログ']);
    expect(screen.queryByTestId('admin-tab-policy')).toBeNull();
  });

  it('moves between tabs with the arrow keys, Home and End; Tab enters the open section; typed text survives switching', async () => {
    const user = userEvent.setup();
    mount(<AdminConsole permissions={['users:read', 'policy:manage', 'audit:read']} sections={FAKE} />, 'en');
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('admin-tab-users'));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('draft-users'));
    await user.keyboard('half typed');
    await user.click(screen.getByTestId('admin-tab-users'));
    await user.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(screen.getByTestId('admin-tab-policy'));
    expect(screen.getByTestId('admin-tab-policy').getAttribute('aria-selected')).toBe('true');
    expect(shown(screen.getByTestId('admin-section-users'))).toBe(false);
    await user.keyboard('{End}');
    expect(document.activeElement).toBe(screen.getByTestId('admin-tab-audit'));
    await user.keyboard('{ArrowRight}'); // wraps
    expect(document.activeElement).toBe(screen.getByTestId('admin-tab-users'));
    expect((screen.getByTestId('draft-users') as HTMLInputElement).value).toBe('half typed');
    await user.keyboard('{ArrowLeft}{Home}');
    expect(screen.getByTestId('admin-tab-users').getAttribute('aria-selected')).toBe('true');
    expect(screen.getAllByRole('tab').filter((t) => t.tabIndex === 0)).toHaveLength(1);
  });

  it('switches between work and the console keeping both, and a ringing call brings work back', async () => {
    const user = userEvent.setup();
    mount(
      <WorkspaceSwitch permissions={['calls:handle', 'users:read']} sections={FAKE}>
        <Draft label="work" />
      </WorkspaceSwitch>,
    );
    expect(shown(screen.getByTestId('workspace'))).toBe(true);
    expect(screen.queryByTestId('admin-console')).toBeNull(); // nothing of the console loads until it is opened
    await user.type(screen.getByTestId('draft-work'), 'メモ');
    await user.click(screen.getByTestId('admin-open'));
    expect(shown(screen.getByTestId('workspace'))).toBe(false);
    expect(shown(screen.getByTestId('admin-console'))).toBe(true);
    const ringing = { id: 'c1', phase: 'ringing', held: false, muted: false, answeredAt: null, endedAt: null, dtmf: '', consultFor: null } as unknown as PhoneCall;
    act(() => usePhoneStore.setState({ calls: [ringing] }));
    expect(shown(screen.getByTestId('workspace'))).toBe(true);
    expect((screen.getByTestId('draft-work') as HTMLInputElement).value).toBe('メモ');
    expect(shown(screen.getByTestId('admin-open'))).toBe(true);
  });

  it('starts an IT admin who handles no calls in the console; offers no switch to an operator', () => {
    mount(
      <WorkspaceSwitch permissions={['users:read']} sections={FAKE}>
        <Draft label="work" />
      </WorkspaceSwitch>,
    );
    expect(shown(screen.getByTestId('admin-console'))).toBe(true);
    cleanup();
    mount(
      <WorkspaceSwitch permissions={['calls:handle']} sections={FAKE}>
        <Draft label="work" />
      </WorkspaceSwitch>,
    );
    expect(screen.queryByTestId('admin-open')).toBeNull();
    expect(shown(screen.getByTestId('draft-work'))).toBe(true);
  });
});
