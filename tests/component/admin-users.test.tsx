// The admin console's users, sessions and devices sections (issue 17) with a fake gateway:
// search and paging, create with a temporary password (validated by the gateway's own schema),
// the account actions behind a confirmation that moves focus and gives it back, deletion that
// states what happens to history, the org-wide session list and revoking one, the device list
// with addresses; refusals shown in Japanese, and a lost connection keeps what was typed.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReactNode } from 'react';
import { GatewayCallError } from '../../shared/gateway-client';
import type { UserView } from '../../shared/gateway/api';
import type { Permission } from '../../shared/gateway/permissions';
import { BUILTIN_ROLES, PERMISSIONS } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import { AdminConsole, consoleSectionsFor } from '../../renderer/src/features/admin/AdminConsole';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';
import { UsersSection } from '../../renderer/src/features/admin/users/UsersSection';
import { SessionsSection } from '../../renderer/src/features/admin/users/SessionsSection';
import { DevicesSection } from '../../renderer/src/features/admin/users/DevicesSection';

const refusal = (code: string, violations?: string[]) => new GatewayCallError(code as never, `gateway said ${code}`, 400, violations ? { violations } : {});
const lost = () => new GatewayCallError('unreachable', 'no answer');

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}
const all = (p: Permission) => PERMISSIONS.includes(p);
const only = (...ps: Permission[]) => (p: Permission) => ps.includes(p);

const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function user(n: number, extra: Partial<UserView> = {}): UserView {
  return {
    id: uid(n), orgId: uid(999), username: `op-${String(n).padStart(3, '0')}`, displayName: `オペレーター ${n}`, role: 'operator',
    permissions: [], teamIds: [], disabled: false, totpEnabled: false, mustChangePassword: false, locked: false, ...extra,
  };
}
const ROLES = { roles: [
  { id: uid(900), key: 'operator', name: 'オペレーター', permissions: [], builtin: true },
  { id: uid(901), key: 'admin', name: '管理者', permissions: [], builtin: true },
] };

type Handler = (input: any) => unknown;
/** A fake gateway: each route name answers from its handler (a thrown error is a refusal). */
function fakeCall(handlers: Record<string, Handler>) {
  const fn = vi.fn(async (name: string, input: any = {}) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(input);
  });
  return fn as unknown as AdminCall & typeof fn;
}

afterEach(() => cleanup());

describe('users section', () => {
  it('built-in roles in the UI language (the gateway stores their English names); a renamed built-in role and a custom role as the org named them', async () => {
    const stored = { roles: [
      { id: uid(900), key: 'operator', name: BUILTIN_ROLES.operator.name, permissions: [], builtin: true },
      { id: uid(901), key: 'team_lead', name: '班長', permissions: [], builtin: true }, // renamed by the org
      { id: uid(902), key: 'admin', name: BUILTIN_ROLES.admin.name, permissions: [], builtin: true },
      { id: uid(903), key: 'night_shift', name: 'Night shift', permissions: [], builtin: false },
    ] };
    const users = [user(1), user(2, { role: 'team_lead' }), user(3, { role: 'admin' }), user(4, { role: 'night_shift' })];
    for (const [language, expected] of [['ja', ['オペレーター', '班長', '管理者', 'Night shift']], ['en', ['Operator', '班長', 'Administrator', 'Night shift']]] as const) {
      mount(<UsersSection can={all} call={fakeCall({ listRoles: () => stored, listUsers: () => ({ users, nextCursor: null }) })} />, language);
      await screen.findByTestId('users-row-op-004');
      const cells = users.map((u) => [...screen.getByTestId(`users-row-${u.username}`).querySelectorAll('td')].map((c) => c.textContent));
      expect(cells.map((row) => expected.find((e) => row.includes(e)) ?? row.join('|'))).toEqual(expected);
      cleanup();
    }
  });

  it('searches by the text typed and pages with the gateway\'s cursor (forward and back)', async () => {
    const pages: Record<string, { users: UserView[]; nextCursor: string | null }> = {
      '': { users: [user(1), user(2)], nextCursor: 'op-002' },
      'op-002': { users: [user(3)], nextCursor: null },
    };
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: ({ query }) => (query.q ? { users: [], nextCursor: null } : pages[query.cursor ?? '']!),
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    expect(await screen.findByTestId('users-row-op-001')).toBeTruthy();
    expect(screen.getByTestId('users-table').querySelector('caption')!.textContent).toContain('1 ページ目');
    await u.click(screen.getByTestId('users-next'));
    expect(await screen.findByTestId('users-row-op-003')).toBeTruthy();
    expect(screen.queryByTestId('users-row-op-001')).toBeNull();
    expect(call).toHaveBeenLastCalledWith('listUsers', { query: { limit: 50, cursor: 'op-002' } });
    expect((screen.getByTestId('users-next') as HTMLButtonElement).disabled).toBe(true);
    await u.click(screen.getByTestId('users-prev'));
    expect(await screen.findByTestId('users-row-op-001')).toBeTruthy();

    await u.type(screen.getByLabelText('ユーザー名または表示名で検索'), '山田');
    await u.keyboard('{Enter}');
    await waitFor(() => expect(call).toHaveBeenLastCalledWith('listUsers', { query: { limit: 50, q: '山田' } }));
    expect(await screen.findByText('該当するものはありません。')).toBeTruthy();
  });

  it('create: the gateway\'s schema checks first (nothing sent); a refusal (conflict) in Japanese and a lost connection keep every field; then it saves', async () => {
    let answer: () => unknown = () => { throw refusal('conflict'); };
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [], nextCursor: null }),
      listTeams: () => ({ teams: [] }),
      createUser: ({ body }) => answer() ?? user(7, { username: body.username, displayName: body.displayName, mustChangePassword: true }),
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    await u.click(await screen.findByTestId('users-create-open'));
    // focus moved to the form's heading
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'ユーザーの作成' }));
    await u.type(screen.getByTestId('user-create-username'), 'a b');
    await u.click(screen.getByTestId('user-create-submit'));
    expect(screen.getByText('ユーザー名は 3〜64 文字の半角英数字と . _ - で入力してください。')).toBeTruthy();
    expect(screen.getByText('表示名を 1〜100 文字で入力してください。')).toBeTruthy();
    expect(screen.getByTestId('user-create-username').getAttribute('aria-invalid')).toBe('true');
    expect(call.mock.calls.filter(([n]) => n === 'createUser')).toHaveLength(0);

    await u.clear(screen.getByTestId('user-create-username'));
    await u.type(screen.getByTestId('user-create-username'), 'sato.hanako');
    await u.type(screen.getByLabelText('表示名'), '佐藤 花子');
    await u.selectOptions(screen.getByLabelText('ロール'), 'operator');
    await u.type(screen.getByLabelText('初期パスワード（仮）'), 'Temporary-Pass-1!');
    expect(screen.getByText(/最初のサインインで自分のパスワードに変更します/)).toBeTruthy();
    await u.click(screen.getByTestId('user-create-submit'));
    const error = await screen.findByTestId('user-create-error');
    expect(error.dataset.code).toBe('conflict');
    expect(error.textContent).toContain('同じ名前のものが既にあるか');
    expect((screen.getByTestId('user-create-username') as HTMLInputElement).value).toBe('sato.hanako');

    answer = () => { throw lost(); };
    await u.click(screen.getByTestId('user-create-submit'));
    await waitFor(() => expect(screen.getByTestId('user-create-error').dataset.code).toBe('unreachable'));
    expect(screen.getByTestId('user-create-error').textContent).toContain('入力内容はそのまま残っています');
    for (const [id, value] of [['user-create-username', 'sato.hanako'], ['user-create-display-name', '佐藤 花子'], ['user-create-password', 'Temporary-Pass-1!']]) {
      expect((screen.getByTestId(id!) as HTMLInputElement).value).toBe(value);
    }

    answer = () => undefined;
    await u.click(screen.getByTestId('user-create-submit'));
    expect((await screen.findByTestId('user-create-done')).textContent).toContain('sato.hanako を作成しました');
    expect(call).toHaveBeenCalledWith('createUser', { body: { username: 'sato.hanako', displayName: '佐藤 花子', role: 'operator', password: 'Temporary-Pass-1!' } });
    // the new user is opened
    expect(screen.getByTestId('user-detail').dataset.userId).toBe(uid(7));
  });

  it('password rules the gateway names are listed (password_policy)', async () => {
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [], nextCursor: null }),
      createUser: () => { throw refusal('password_policy', ['too_short']); },
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    await u.click(await screen.findByTestId('users-create-open'));
    await u.type(screen.getByTestId('user-create-username'), 'sato.hanako');
    await u.type(screen.getByTestId('user-create-display-name'), '佐藤');
    await u.type(screen.getByTestId('user-create-password'), 'short');
    await u.click(screen.getByTestId('user-create-submit'));
    const error = await screen.findByTestId('user-create-error');
    expect(error.textContent).toContain('パスワードが組織のルールを満たしていません');
    expect(within(error).getAllByRole('listitem')).toHaveLength(1);
  });

  it('disable asks first (focus on Cancel, Escape gives focus back); the last_admin refusal is explained in Japanese; keyboard only', async () => {
    const admin = user(1, { username: 'admin-1', role: 'admin' });
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [admin], nextCursor: null }),
      listTeams: () => ({ teams: [] }),
      patchUser: () => { throw refusal('last_admin'); },
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    screen.getByTestId('users-search').focus();
    (await screen.findByTestId('user-open-admin-1')).focus();
    await u.keyboard('{Enter}');
    expect(document.activeElement).toBe(await screen.findByRole('heading', { name: /ユーザー 管理|ユーザー オペレーター/ }));
    const disable = screen.getByTestId('user-disable');
    disable.focus();
    await u.keyboard('{Enter}');
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('無効にしますか');
    expect(document.activeElement).toBe(within(dialog).getByTestId('admin-confirm-cancel'));
    await u.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(document.activeElement).toBe(disable);
    expect(call.mock.calls.filter(([n]) => n === 'patchUser')).toHaveLength(0);

    await u.keyboard('{Enter}');
    await u.tab();
    expect(document.activeElement).toBe(screen.getByTestId('admin-confirm-ok'));
    await u.keyboard('{Enter}');
    const error = await screen.findByTestId('user-action-error');
    expect(error.dataset.code).toBe('last_admin');
    expect(error.textContent).toBe('最後の管理者は無効化・削除・降格できません。先にほかの管理者を用意してください。');
    expect(call).toHaveBeenCalledWith('patchUser', { params: { id: admin.id }, body: { disabled: true } });
  });

  it('the same refusal in English', async () => {
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [user(1)], nextCursor: null }),
      listTeams: () => ({ teams: [] }),
      patchUser: () => { throw refusal('last_admin'); },
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />, 'en');
    await u.click(await screen.findByTestId('user-open-op-001'));
    await u.click(screen.getByTestId('user-disable'));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('user-action-error')).textContent).toContain('The last administrator cannot be disabled');
  });

  it('edit: display name, role and teams; a lost connection keeps the edit; the rest of the actions call their routes', async () => {
    let patchAnswer: (body: any) => unknown = () => { throw lost(); };
    const target = user(5, { teamIds: [] });
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [target], nextCursor: null }),
      listTeams: () => ({ teams: [{ id: uid(50), name: '東京1班', leadIds: [], operatorIds: [] }, { id: uid(51), name: '大阪班', leadIds: [], operatorIds: [target.id] }] }),
      patchUser: ({ body }) => patchAnswer(body),
      setUserTeams: ({ body }) => ({ teams: body.teams }),
      unlockUser: () => ({ ok: true }),
      resetTotp: () => ({ ok: true }),
      resetPassword: () => ({ ok: true }),
      resetDevices: () => ({ revoked: 2 }),
      revokeSessions: () => ({ revoked: 3 }),
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    await u.click(await screen.findByTestId('user-open-op-005'));
    const name = screen.getByTestId('user-edit-display-name') as HTMLInputElement;
    await u.clear(name);
    await u.type(name, '山田 太郎');
    await u.selectOptions(screen.getByTestId('user-edit-role'), 'admin');
    await u.click(screen.getByTestId('user-edit-save'));
    expect((await screen.findByTestId('user-edit-error')).dataset.code).toBe('unreachable');
    expect(name.value).toBe('山田 太郎');
    expect((screen.getByTestId('user-edit-role') as HTMLSelectElement).value).toBe('admin');
    patchAnswer = (body) => ({ ...target, ...body });
    await u.click(screen.getByTestId('user-edit-save'));
    expect(await screen.findByTestId('user-edit-done')).toBeTruthy();
    expect(call).toHaveBeenLastCalledWith('patchUser', { params: { id: target.id }, body: { displayName: '山田 太郎', role: 'admin' } });

    // teams: the current membership is shown; saving sends the whole set
    expect((await screen.findByTestId(`user-team-${uid(51)}`) as HTMLSelectElement).value).toBe('operator');
    await u.selectOptions(screen.getByTestId(`user-team-${uid(50)}`), 'lead');
    await u.click(screen.getByTestId('user-teams-save'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('setUserTeams', { params: { id: target.id }, body: { teams: [{ teamId: uid(50), as: 'lead' }, { teamId: uid(51), as: 'operator' }] } }));

    await u.click(screen.getByTestId('user-unlock'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('unlockUser', { params: { id: target.id } }));
    await u.click(screen.getByTestId('user-reset-totp'));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('resetTotp', { params: { id: target.id } }));
    await u.click(screen.getByTestId('user-reset-devices'));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('user-action-done')).textContent).toBe('2 台の端末の紐付けをリセットしました。');
    await u.click(screen.getByTestId('user-revoke-sessions'));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    await waitFor(() => expect(screen.getByTestId('user-action-done').textContent).toBe('3 件のセッションを失効しました。'));
    await u.type(screen.getByLabelText('新しい仮パスワード'), 'Reset-Temp-Pass-2!');
    await u.click(screen.getByTestId('user-reset-password-submit'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('resetPassword', { params: { id: target.id }, body: { password: 'Reset-Temp-Pass-2!' } }));
  });

  it('delete: the dialog states what happens to history before anything is sent; the user leaves the list', async () => {
    const target = user(8);
    const call = fakeCall({
      listRoles: () => ROLES,
      listUsers: () => ({ users: [target, user(9)], nextCursor: null }),
      listTeams: () => ({ teams: [] }),
      deleteUser: () => ({ ok: true, usernameFreed: true, sessionsRevoked: 1, devicesReset: 1, teamsLeft: 2, assignmentsRemoved: 0 }),
    });
    const u = userEvent.setup();
    mount(<UsersSection can={all} call={call} />);
    await u.click(await screen.findByTestId('user-open-op-008'));
    await u.click(screen.getByTestId('user-delete'));
    const dialog = screen.getByRole('alertdialog', { name: 'オペレーター 8 (op-008) を削除しますか？' });
    for (const words of ['取り消せません', 'ユーザー名はほかの人が使えるようになります', '「削除済みユーザー」として表示されます', 'チーム・キャンペーンの割り当ては外れます']) {
      expect(dialog.textContent).toContain(words);
    }
    expect(call.mock.calls.filter(([n]) => n === 'deleteUser')).toHaveLength(0);
    await u.click(within(dialog).getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('users-notice')).textContent).toBe('ユーザーを削除しました（セッション 1 件、端末 1 台、チーム 2 件、割り当て 0 件）。');
    expect(screen.queryByTestId('users-row-op-008')).toBeNull();
    expect(screen.getByTestId('users-row-op-009')).toBeTruthy();
    expect(screen.queryByTestId('user-detail')).toBeNull();
  });

  it('a reader (users:read only) sees users but is offered no action', async () => {
    const call = fakeCall({ listRoles: () => ROLES, listUsers: () => ({ users: [user(1)], nextCursor: null }) });
    const u = userEvent.setup();
    mount(<UsersSection can={only('users:read')} call={call} />);
    await u.click(await screen.findByTestId('user-open-op-001'));
    expect(screen.queryByTestId('users-create-open')).toBeNull();
    for (const id of ['user-edit-save', 'user-disable', 'user-delete', 'user-reset-totp', 'user-revoke-sessions', 'user-reset-devices', 'user-teams-save']) {
      expect(screen.queryByTestId(id), id).toBeNull();
    }
    expect((screen.getByTestId('user-edit-display-name') as HTMLInputElement).disabled).toBe(true);
  });
});

describe('sessions section', () => {
  const session = (n: number, extra: Record<string, unknown> = {}) => ({
    id: uid(100 + n), userId: uid(n), username: `op-${n}`, displayName: `オペ ${n}`, deviceId: uid(200 + n), deviceName: `PC-${n}`,
    sourceIp: `10.0.0.${n}`, createdAt: '2026-11-30T01:05:00.000Z', lastSeenAt: '2026-11-30T11:40:00.000Z', absoluteExpiresAt: '2026-12-01T01:05:00.000Z', current: false, ...extra,
  });

  it('lists who is signed in where (Japan time), revokes one after asking, refusals in Japanese, paging', async () => {
    let revokeAnswer: () => unknown = () => { throw refusal('forbidden'); };
    const call = fakeCall({
      listSessions: ({ query }) => (query.cursor ? { sessions: [session(3)], nextCursor: null } : { sessions: [session(1), session(2, { current: true })], nextCursor: 'c1' }),
      revokeSession: () => revokeAnswer(),
      revokeSessions: () => ({ revoked: 4 }),
    });
    const u = userEvent.setup();
    mount(<SessionsSection can={all} call={call} />);
    const rows = await screen.findAllByTestId('sessions-row');
    expect(rows.map((r) => r.dataset.username)).toEqual(['op-1', 'op-2']);
    expect(rows[0]!.textContent).toContain('PC-1');
    expect(rows[0]!.textContent).toContain('10.0.0.1');
    expect(rows[0]!.textContent).toContain('2026年11月30日 20:40');
    expect(rows[1]!.textContent).toContain('このセッション');

    await u.click(screen.getByTestId(`session-revoke-${uid(101)}`));
    expect(screen.getByRole('alertdialog').textContent).toContain('オペ 1 (op-1) のこのセッション（PC-1、10.0.0.1）');
    await u.click(screen.getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('sessions-error')).textContent).toBe('この操作の権限がありません。');
    revokeAnswer = () => ({ revoked: 1 });
    await u.click(screen.getByTestId(`session-revoke-${uid(101)}`));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('sessions-done')).textContent).toBe('1 件のセッションを失効しました。');
    expect(call).toHaveBeenCalledWith('revokeSession', { params: { id: uid(101) } });

    // one's own session: the dialog says this window signs out
    await u.click(screen.getByTestId(`session-revoke-${uid(102)}`));
    expect(screen.getByRole('alertdialog').textContent).toContain('あなた自身のセッション');
    await u.click(screen.getByTestId('admin-confirm-cancel'));

    await u.click(within(rows[0]!).getByTestId('session-revoke-user'));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('revokeSessions', { params: { id: uid(1) } }));

    await u.click(screen.getByTestId('sessions-next'));
    await waitFor(() => expect(screen.getAllByTestId('sessions-row').map((r) => r.dataset.username)).toEqual(['op-3']));
  });

  it('a lost connection while listing says so and keeps the list usable on reload', async () => {
    let fail = true;
    const call = fakeCall({ listSessions: () => { if (fail) throw lost(); return { sessions: [session(1)], nextCursor: null }; } });
    const u = userEvent.setup();
    mount(<SessionsSection can={all} call={call} />);
    expect((await screen.findByTestId('sessions-error')).dataset.code).toBe('unreachable');
    fail = false;
    await u.click(screen.getByTestId('sessions-reload'));
    expect(await screen.findAllByTestId('sessions-row')).toHaveLength(1);
    expect(screen.queryByTestId('sessions-error')).toBeNull();
  });
});

describe('devices section', () => {
  const device = (n: number, extra: Record<string, unknown> = {}) => ({
    id: uid(300 + n), userId: uid(n), username: `op-${n}`, name: `受付PC-${n}`, publicKey: 'k'.repeat(43), status: 'active',
    createdAt: '2026-11-01T00:00:00.000Z', lastSeenAt: '2026-11-30T11:40:00.000Z', firstSeenIp: '192.0.2.1', lastSeenIp: '192.0.2.9', ...extra,
  });

  it('lists PCs with first/last seen time and address; rename checks the name, keeps it on a lost connection; revoke and reset ask first', async () => {
    let renameAnswer: () => unknown = () => { throw lost(); };
    const call = fakeCall({
      listDevices: ({ query }) => ({ devices: query.status === 'revoked' ? [] : [device(1), device(2, { lastSeenAt: null, lastSeenIp: null })], nextCursor: null }),
      renameDevice: () => renameAnswer(),
      revokeDevice: () => device(1, { status: 'revoked' }),
      resetDevices: () => ({ revoked: 1 }),
    });
    const u = userEvent.setup();
    mount(<DevicesSection can={all} call={call} />);
    const rows = await screen.findAllByTestId('devices-row');
    expect(rows[0]!.textContent).toContain('2026年11月1日 09:00');
    expect(rows[0]!.textContent).toContain('192.0.2.1');
    expect(rows[0]!.textContent).toContain('192.0.2.9');
    expect(rows[1]!.textContent).toContain('まだありません');
    expect(rows[1]!.textContent).toContain('不明');

    await u.click(screen.getByTestId(`device-rename-${uid(301)}`));
    const input = screen.getByTestId('device-rename-input') as HTMLInputElement;
    expect(document.activeElement).toBe(input);
    await u.clear(input);
    await u.click(screen.getByTestId('device-rename-save'));
    expect(screen.getByText('端末名を 1〜100 文字で入力してください。')).toBeTruthy();
    await u.type(input, '経理PC');
    await u.click(screen.getByTestId('device-rename-save'));
    expect((await screen.findByTestId('device-rename-error')).dataset.code).toBe('unreachable');
    expect((screen.getByTestId('device-rename-input') as HTMLInputElement).value).toBe('経理PC');
    renameAnswer = () => device(1, { name: '経理PC' });
    await u.click(screen.getByTestId('device-rename-save'));
    expect((await screen.findByTestId('devices-done')).textContent).toBe('名前を変更しました。');
    expect(call).toHaveBeenCalledWith('renameDevice', { params: { id: uid(301) }, body: { name: '経理PC' } });

    await u.click(screen.getByTestId(`device-revoke-${uid(301)}`));
    expect(screen.getByRole('alertdialog').textContent).toContain('受付PC-1（op-1）を失効させますか');
    await u.click(screen.getByTestId('admin-confirm-ok'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('revokeDevice', { params: { id: uid(301) } }));
    await u.click(screen.getByTestId(`device-reset-user-${uid(302)}`));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    await waitFor(() => expect(call).toHaveBeenCalledWith('resetDevices', { params: { id: uid(2) } }));
    expect((await screen.findByTestId('devices-done')).textContent).toBe('1 台の端末の紐付けをリセットしました。');

    await u.selectOptions(screen.getByLabelText('状態で絞り込む'), 'revoked');
    await waitFor(() => expect(call).toHaveBeenLastCalledWith('listDevices', { query: { limit: 50, status: 'revoked' } }));
  });

  it('a refusal (not_found: another admin deleted it) is shown in Japanese', async () => {
    const call = fakeCall({ listDevices: () => ({ devices: [device(1)], nextCursor: null }), revokeDevice: () => { throw refusal('not_found'); } });
    const u = userEvent.setup();
    mount(<DevicesSection can={all} call={call} />);
    await u.click(await screen.findByTestId(`device-revoke-${uid(301)}`));
    await u.click(screen.getByTestId('admin-confirm-ok'));
    expect((await screen.findByTestId('devices-error')).textContent).toContain('対象が見つかりません');
  });
});

describe('the console offers these sections by permission', () => {
  it('an admin gets users, devices and sessions; an operator or a lead none', async () => {
    expect(consoleSectionsFor([...PERMISSIONS]).map((s) => s.id)).toEqual(expect.arrayContaining(['users', 'devices', 'sessions']));
    expect(consoleSectionsFor(['calls:handle', 'customers:read', 'customers:write', 'notes:write'])).toEqual([]);
    expect(consoleSectionsFor(['calls:handle', 'customers:read', 'customers:write', 'notes:write', 'team:read', 'team:supervise', 'recordings:play'])).toEqual([]);
    expect(consoleSectionsFor(['sessions:manage']).map((s) => s.id)).toEqual(['sessions']);
    const { container } = mount(<AdminConsole permissions={['calls:handle']} />);
    expect(container.innerHTML).toBe('');
    await act(async () => {});
  });
});
