// The admin console's teams, roles and campaigns sections (issue 17), against a fake gateway:
// created and changed with the keyboard, users picked by searching, every form checked with the
// gateway's own zod schema before it is sent, the gateway's refusals (authority, in_use, a
// conflict) shown in Japanese (and English), a lost connection mid-save keeping what was typed,
// and every confirmation stating what happens to history, taking focus and giving it back.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReactNode } from 'react';
import { GatewayCallError } from '../../shared/gateway-client';
import { PERMISSIONS, type Permission } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import { adminRolesJa } from '../../renderer/src/i18n/admin-roles.ja';
import { adminRolesEn } from '../../renderer/src/i18n/admin-roles.en';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';
import { TeamsSection } from '../../renderer/src/features/admin/org/TeamsSection';
import { permKey, RolesSection } from '../../renderer/src/features/admin/org/RolesSection';
import { CampaignsSection } from '../../renderer/src/features/admin/org/CampaignsSection';
import { AdminConsole } from '../../renderer/src/features/admin/AdminConsole';

const refusal = (code: string, violations?: string[]) => new GatewayCallError(code as never, `gateway said ${code}`, 400, violations ? { violations } : {});
const lost = () => new GatewayCallError('unreachable', 'no answer', null);
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

type Handler = (input: { body?: any; params?: any; query?: any }) => unknown;
/** A fake gateway: each route name answers with its handler (a thrown error is the refusal). */
function fakeCall(handlers: Record<string, Handler>) {
  const fn = vi.fn(async (name: string, input: { body?: unknown; params?: unknown; query?: unknown } = {}) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(input as never);
  });
  return { fn, call: fn as unknown as AdminCall };
}
const can = (held: Permission[]) => (p: Permission) => held.includes(p);
const ALL = [...PERMISSIONS];

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}

const USERS = [
  { id: uuid(1), username: 'sato', displayName: '佐藤 花子', disabled: false },
  { id: uuid(2), username: 'suzuki', displayName: '鈴木 一郎', disabled: false },
];
const userView = (u: (typeof USERS)[number]) => ({ ...u, orgId: uuid(99), role: 'operator', permissions: [], teamIds: [], totpEnabled: false, mustChangePassword: false });
const userRoutes = {
  listUsers: ({ query }: { query?: { q?: string } }) => ({ users: USERS.filter((u) => !query?.q || u.username.startsWith(query.q) || u.displayName.includes(query.q)).map(userView), nextCursor: null }),
  userNames: ({ body }: { body?: { ids: string[] } }) => ({ users: USERS.filter((u) => body!.ids.includes(u.id)).map((u) => ({ ...u, role: 'operator' })) }),
};

afterEach(() => cleanup());

describe('teams section', () => {
  it('creates a team with the keyboard alone; the gateway\'s conflict is shown in Japanese and the name stays typed', async () => {
    let taken = true;
    const { fn, call } = fakeCall({
      listTeams: () => ({ teams: [{ id: uuid(10), name: '既存班', leadIds: [], operatorIds: [uuid(1)] }] }),
      createTeam: ({ body }) => {
        if (taken) throw refusal('conflict');
        return { id: uuid(11), name: body.name, leadIds: [], operatorIds: [] };
      },
    });
    const user = userEvent.setup();
    mount(<TeamsSection can={can(ALL)} call={call} />);
    expect(await screen.findByTestId('team-row-既存班')).toBeTruthy();
    expect(screen.getByText('リーダー 0 人・オペレーター 1 人')).toBeTruthy();
    const name = screen.getByLabelText('チーム名');
    await user.click(name);
    await user.keyboard('第一班{Enter}');
    const error = await screen.findByTestId('team-create-error');
    expect(error.textContent).toContain('同じ名前のものが既にあるか');
    expect((name as HTMLInputElement).value).toBe('第一班');
    taken = false;
    await user.keyboard('{Enter}');
    expect((await screen.findByTestId('team-create-done')).textContent).toBe('チーム「第一班」を作成しました。');
    expect(screen.getByTestId('team-row-第一班')).toBeTruthy();
    expect(fn.mock.calls.filter((c) => c[0] === 'createTeam').map((c) => (c[1] as { body: unknown }).body)).toEqual([{ name: '第一班' }, { name: '第一班' }]);
  });

  it('a lost connection while creating loses nothing typed and says so; an empty name is refused by the schema without asking the gateway', async () => {
    let online = false;
    const { fn, call } = fakeCall({
      listTeams: () => ({ teams: [] }),
      createTeam: ({ body }) => {
        if (!online) throw lost();
        return { id: uuid(12), name: body.name, leadIds: [], operatorIds: [] };
      },
    });
    const user = userEvent.setup();
    mount(<TeamsSection can={can(ALL)} call={call} />);
    await screen.findByText('チームはまだありません。');
    await user.click(screen.getByTestId('team-create-submit'));
    expect((await screen.findByTestId('team-create-error')).dataset.code).toBe('validation_failed');
    expect(fn.mock.calls.some((c) => c[0] === 'createTeam')).toBe(false);
    await user.type(screen.getByTestId('team-create-name'), '夜間班');
    await user.click(screen.getByTestId('team-create-submit'));
    await waitFor(() => expect(screen.getByTestId('team-create-error').textContent).toContain('入力内容はそのまま残っています'));
    expect((screen.getByTestId('team-create-name') as HTMLInputElement).value).toBe('夜間班');
    online = true;
    await user.click(screen.getByTestId('team-create-submit'));
    expect(await screen.findByTestId('team-row-夜間班')).toBeTruthy();
  });

  it('sets a lead and an operator by searching users, renames, and deletes with a confirmation that states the history kept and gives focus back', async () => {
    const team = { id: uuid(20), name: '一班', leadIds: [] as string[], operatorIds: [] as string[] };
    const { fn, call } = fakeCall({
      ...userRoutes,
      listTeams: () => ({ teams: [team] }),
      setTeamMembers: ({ body }) => ({ ...team, ...body }),
      renameTeam: ({ body }) => ({ ...team, name: body.name }),
      deleteTeam: ({ params }) => ({ id: params.id, deleted: true }),
    });
    const user = userEvent.setup();
    mount(<TeamsSection can={can(ALL)} call={call} />);
    await user.click(await screen.findByTestId('team-open-一班'));
    const leads = screen.getByTestId('team-leads');
    await user.type(within(leads).getByLabelText('リーダーを検索（ユーザー名または表示名）'), 'sato{Enter}');
    await user.click(await within(leads).findByTestId('team-leads-add-sato'));
    const ops = screen.getByTestId('team-operators');
    await user.type(within(ops).getByTestId('team-operators-search'), '鈴木{Enter}');
    await user.click(await within(ops).findByTestId('team-operators-add-suzuki'));
    expect(within(ops).getByTestId('team-operators-picked').textContent).toContain('鈴木 一郎 (suzuki)');
    expect(fn.mock.calls.find((c) => c[0] === 'listUsers')![1]).toEqual({ query: { q: 'sato', limit: 20 } });
    await user.click(screen.getByTestId('team-members-save'));
    await screen.findByText('メンバーを保存しました。');
    expect(fn.mock.calls.find((c) => c[0] === 'setTeamMembers')![1]).toEqual({ params: { id: team.id }, body: { leadIds: [uuid(1)], operatorIds: [uuid(2)] } });

    await user.clear(screen.getByTestId('team-rename-name'));
    await user.type(screen.getByTestId('team-rename-name'), '二班{Enter}');
    await screen.findByText('名前を変更しました。');

    const del = screen.getByTestId('team-delete');
    del.focus();
    await user.keyboard('{Enter}');
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('通話記録・メモ・録音、監査ログはそのまま残ります');
    expect(document.activeElement).toBe(screen.getByTestId('team-delete-confirm-cancel'));
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(document.activeElement).toBe(del);
    expect(fn.mock.calls.some((c) => c[0] === 'deleteTeam')).toBe(false);
    await user.keyboard('{Enter}');
    await user.click(screen.getByTestId('team-delete-confirm-ok'));
    await waitFor(() => expect(screen.queryByTestId('team-editor')).toBeNull());
    expect(screen.queryByTestId('team-row-二班')).toBeNull();
    expect(fn.mock.calls.find((c) => c[0] === 'deleteTeam')![1]).toEqual({ params: { id: team.id } });
  });

  it('with users:read only the teams are shown, nothing to change; the gateway\'s forbidden (a lead, say) is shown in Japanese', async () => {
    const { call } = fakeCall({ ...userRoutes, listTeams: () => ({ teams: [{ id: uuid(30), name: '閲覧班', leadIds: [uuid(1)], operatorIds: [] }] }) });
    const user = userEvent.setup();
    mount(<TeamsSection can={can(['users:read'])} call={call} />);
    await user.click(await screen.findByTestId('team-open-閲覧班'));
    expect(screen.getByText(/閲覧のみです/)).toBeTruthy();
    expect(screen.queryByTestId('team-create-name')).toBeNull();
    expect(screen.queryByTestId('team-delete')).toBeNull();
    expect(screen.queryByTestId('team-leads-search')).toBeNull();
    expect(await within(screen.getByTestId('team-leads')).findByText('佐藤 花子 (sato)')).toBeTruthy();
    cleanup();
    const { call: refused } = fakeCall({ listTeams: () => { throw refusal('forbidden'); } });
    mount(<TeamsSection can={can(['users:read'])} call={refused} />);
    expect((await screen.findByTestId('teams-error')).textContent).toBe('この操作の権限がありません。');
  });
});

describe('roles section', () => {
  const roles = [
    { id: uuid(40), key: 'admin', name: 'Administrator', permissions: ALL, builtin: true },
    { id: uuid(41), key: 'night', name: '夜勤', permissions: ['calls:handle'], builtin: false },
  ];

  it('lists every permission as a labelled checkbox explained in Japanese; the authority\'s refusal is shown and everything typed stays', async () => {
    const { fn, call } = fakeCall({ listRoles: () => ({ roles }), createRole: () => { throw refusal('forbidden'); } });
    const user = userEvent.setup();
    mount(<RolesSection can={can(ALL)} call={call} />);
    expect(await screen.findByTestId('role-row-admin')).toBeTruthy();
    expect(within(screen.getByTestId('role-row-admin')).getByText('組み込み')).toBeTruthy();
    const perms = screen.getByTestId('role-create-perm');
    for (const p of PERMISSIONS) {
      const box = within(perms).getByRole('checkbox', { name: new RegExp(adminRolesJa.perm[permKey(p) as keyof typeof adminRolesJa.perm].label) });
      expect(box.getAttribute('aria-describedby')).toBeTruthy();
      expect(document.getElementById(box.getAttribute('aria-describedby')!)!.textContent).toBe(adminRolesJa.perm[permKey(p) as keyof typeof adminRolesJa.perm].help);
    }
    await user.type(screen.getByTestId('role-create-key'), 'auditor');
    await user.type(screen.getByTestId('role-create-name'), '監査担当');
    await user.click(within(perms).getByTestId('role-create-perm-audit:read'));
    await user.click(within(perms).getByTestId('role-create-perm-policy:manage'));
    await user.click(screen.getByTestId('role-create-submit'));
    const error = await screen.findByTestId('role-create-error');
    expect(error.textContent).toContain('ゲートウェイがこの変更を拒否しました');
    expect(fn.mock.calls.find((c) => c[0] === 'createRole')![1]).toEqual({ body: { key: 'auditor', name: '監査担当', permissions: ['audit:read', 'policy:manage'] } });
    expect((screen.getByTestId('role-create-key') as HTMLInputElement).value).toBe('auditor');
    expect((screen.getByTestId('role-create-perm-policy:manage') as HTMLInputElement).checked).toBe(true);
  });

  it('a key the schema refuses is refused before the gateway is asked, the field marked invalid', async () => {
    const { fn, call } = fakeCall({ listRoles: () => ({ roles }) });
    const user = userEvent.setup();
    mount(<RolesSection can={can(ALL)} call={call} />);
    await screen.findByTestId('role-row-night');
    await user.type(screen.getByTestId('role-create-key'), 'Bad Key!');
    await user.type(screen.getByTestId('role-create-name'), 'x');
    await user.click(screen.getByTestId('role-create-submit'));
    expect((await screen.findByTestId('role-create-error')).dataset.code).toBe('validation_failed');
    expect(screen.getByTestId('role-create-key').getAttribute('aria-invalid')).toBe('true');
    expect(fn.mock.calls.some((c) => c[0] === 'createRole')).toBe(false);
  });

  it('deleting a role in use shows how many users hold it (ja and en); the admin role\'s permissions cannot be ticked and built-in roles offer no delete', async () => {
    for (const language of ['ja', 'en'] as const) {
      const { call } = fakeCall({ listRoles: () => ({ roles }), deleteRole: () => { throw refusal('in_use', ['users=3']); } });
      const user = userEvent.setup();
      mount(<RolesSection can={can(ALL)} call={call} />, language);
      await user.click(await screen.findByTestId('role-open-admin'));
      expect((screen.getByTestId('role-edit-perm-audit:read') as HTMLInputElement).disabled).toBe(true);
      expect(screen.queryByTestId('role-delete')).toBeNull();
      await user.click(screen.getByTestId('role-open-night'));
      await user.click(screen.getByTestId('role-delete'));
      expect(screen.getByRole('alertdialog').textContent).toContain(language === 'ja' ? '監査ログはそのまま残ります' : 'audit log of what was done under this role is kept');
      await user.click(screen.getByTestId('role-delete-confirm-ok'));
      const error = await screen.findByTestId('role-editor-error');
      expect(error.textContent).toContain(language === 'ja' ? 'このロールを持つユーザーが 3 人います' : '3 user(s) hold this role');
      expect(screen.getByTestId('role-row-night')).toBeTruthy();
      cleanup();
    }
  });

  it('a lost connection while renaming keeps the new name and the ticks', async () => {
    let online = false;
    const { call } = fakeCall({
      listRoles: () => ({ roles }),
      patchRole: ({ body }) => {
        if (!online) throw lost();
        return { ...roles[1]!, ...body };
      },
    });
    const user = userEvent.setup();
    mount(<RolesSection can={can(ALL)} call={call} />);
    await user.click(await screen.findByTestId('role-open-night'));
    await user.clear(screen.getByTestId('role-edit-name'));
    await user.type(screen.getByTestId('role-edit-name'), '深夜勤');
    await user.click(screen.getByTestId('role-edit-perm-notes:write'));
    await user.click(screen.getByTestId('role-save'));
    expect((await screen.findByTestId('role-editor-error')).textContent).toContain('入力内容はそのまま残っています');
    expect((screen.getByTestId('role-edit-name') as HTMLInputElement).value).toBe('深夜勤');
    expect((screen.getByTestId('role-edit-perm-notes:write') as HTMLInputElement).checked).toBe(true);
    online = true;
    await user.click(screen.getByTestId('role-save'));
    expect(await screen.findByText('保存しました。')).toBeTruthy();
    expect(within(screen.getByTestId('role-row-night')).getByRole('rowheader').textContent).toContain('深夜勤');
  });

  it('English labels exist for every permission', () => {
    for (const p of PERMISSIONS) expect(adminRolesEn.perm[permKey(p) as keyof typeof adminRolesEn.perm].label.length).toBeGreaterThan(0);
  });
});

describe('campaigns section', () => {
  const campaignView = (body: any, id = uuid(50)) => ({
    id, name: body.name, dids: body.dids, hours: { timeZone: body.hours.timeZone, weekly: body.hours.weekly, closedDates: body.hours.closedDates, specialDates: body.hours.specialDates ?? {} },
    dispositions: body.dispositions, blockedNumbers: body.blockedNumbers, routing: { enforceHours: true, blockPolicy: 'reject', ringSeconds: null, ...body.routing },
    disabled: false, serviceLevelSeconds: body.serviceLevelSeconds ?? 20, createdAt: '2026-11-30T00:00:00.000Z', updatedAt: '2026-11-30T00:00:00.000Z',
  });
  const adminView = (over: Record<string, unknown> = {}) => ({
    campaignId: uuid(50), disabled: false, disabledAt: null, queue: { maxWaitSeconds: 120, maxSize: 20, overflowCampaignId: null },
    recording: { mode: 'never', retentionDays: null }, retention: { calls: null, notes: null, customers: null }, assignedUserIds: [], callCount: 0, ...over,
  });

  async function fillCampaign(user: ReturnType<typeof userEvent.setup>) {
    await user.click(await screen.findByTestId('campaign-new'));
    await user.type(screen.getByTestId('campaign-create-name'), 'サポート窓口');
    await user.type(screen.getByTestId('campaign-create-dids'), '03-1234-5678');
    await user.clear(screen.getByTestId('campaign-create-hours-sat'));
    await user.type(screen.getByTestId('campaign-create-hours-sat'), '10:00-12:00, 13:00-15:00');
    await user.type(screen.getByTestId('campaign-create-closed-dates'), '2027-01-01{Enter}2027-01-02');
    await user.type(screen.getByTestId('campaign-create-dispositions'), '解決{Enter}折り返し');
    await user.type(screen.getByTestId('campaign-create-blocked'), '090-0000-1111');
  }

  it('creates a campaign with a DID, hours, holidays, dispositions and a block list, then assigns an operator found by searching', async () => {
    const { fn, call } = fakeCall({
      ...userRoutes,
      listCampaigns: () => ({ campaigns: [] }),
      createCampaign: ({ body }) => campaignView(body),
      campaignAdmin: () => adminView(),
      setAssignments: ({ params, body }) => ({ campaignId: params.id, userIds: body.userIds }),
    });
    const user = userEvent.setup();
    mount(<CampaignsSection can={can(ALL)} call={call} />);
    await fillCampaign(user);
    await user.click(screen.getByTestId('campaign-create-submit'));
    expect((await screen.findByTestId('campaign-create-done')).textContent).toBe('キャンペーン「サポート窓口」を作成しました。');
    const body = (fn.mock.calls.find((c) => c[0] === 'createCampaign')![1] as { body: any }).body;
    expect(body).toMatchObject({
      name: 'サポート窓口', dids: ['+81312345678'], dispositions: ['解決', '折り返し'], blockedNumbers: ['+819000001111'],
      hours: { timeZone: 'Asia/Tokyo', closedDates: ['2027-01-01', '2027-01-02'], weekly: { mon: [{ open: '09:00', close: '18:00' }], sat: [{ open: '10:00', close: '12:00' }, { open: '13:00', close: '15:00' }] } },
      routing: { enforceHours: true, blockPolicy: 'reject', ringSeconds: null }, serviceLevelSeconds: 20,
    });
    expect(body.hours.weekly.sun).toBeUndefined();
    const editor = await screen.findByTestId('campaign-editor');
    await within(editor).findByTestId('campaign-state');
    await user.type(within(editor).getByTestId('campaign-assign-search'), 'suzuki{Enter}');
    await user.click(await within(editor).findByTestId('campaign-assign-add-suzuki'));
    await user.click(within(editor).getByTestId('campaign-assignments-save'));
    await within(editor).findByTestId('campaign-editor-status');
    expect(fn.mock.calls.find((c) => c[0] === 'setAssignments')![1]).toEqual({ params: { id: uuid(50) }, body: { userIds: [uuid(2)] } });
  });

  it('bad hours and a bad number are refused before the gateway is asked; a lost connection keeps every field as typed', async () => {
    let online = false;
    const { fn, call } = fakeCall({
      listCampaigns: () => ({ campaigns: [] }),
      createCampaign: ({ body }) => {
        if (!online) throw lost();
        return campaignView(body);
      },
      campaignAdmin: () => adminView(),
    });
    const user = userEvent.setup();
    mount(<CampaignsSection can={can(ALL)} call={call} />);
    await fillCampaign(user);
    await user.type(screen.getByTestId('campaign-create-hours-sun'), 'ひる');
    await user.click(screen.getByTestId('campaign-create-submit'));
    expect((await screen.findByTestId('campaign-create-bad-hours')).textContent).toContain('日曜の営業時間は');
    expect(screen.getByTestId('campaign-create-hours-sun').getAttribute('aria-invalid')).toBe('true');
    await user.clear(screen.getByTestId('campaign-create-hours-sun'));
    await user.type(screen.getByTestId('campaign-create-dids'), '{Enter}電話番号ではない');
    await user.click(screen.getByTestId('campaign-create-submit'));
    await waitFor(() => expect(screen.getByTestId('campaign-create-dids').getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByTestId('campaign-create-error').dataset.code).toBe('validation_failed');
    expect(fn.mock.calls.some((c) => c[0] === 'createCampaign')).toBe(false);
    await user.clear(screen.getByTestId('campaign-create-dids'));
    await user.type(screen.getByTestId('campaign-create-dids'), '0312345678');
    await user.click(screen.getByTestId('campaign-create-submit'));
    await waitFor(() => expect(screen.getByTestId('campaign-create-error').textContent).toContain('入力内容はそのまま残っています'));
    const kept = {
      'campaign-create-name': 'サポート窓口', 'campaign-create-dids': '0312345678', 'campaign-create-hours-sat': '10:00-12:00, 13:00-15:00',
      'campaign-create-closed-dates': '2027-01-01\n2027-01-02', 'campaign-create-dispositions': '解決\n折り返し', 'campaign-create-blocked': '090-0000-1111',
    };
    for (const [testid, value] of Object.entries(kept)) expect((screen.getByTestId(testid) as HTMLInputElement).value, testid).toBe(value);
    online = true;
    await user.click(screen.getByTestId('campaign-create-submit'));
    expect(await screen.findByTestId('campaign-row-サポート窓口')).toBeTruthy();
  });

  const existing = campaignView({
    name: '既存窓口', dids: ['+81312345678'], hours: { timeZone: 'Asia/Tokyo', weekly: { mon: [{ open: '09:00', close: '18:00' }] }, closedDates: [], specialDates: { '2027-12-31': [{ open: '09:00', close: '12:00' }] } },
    dispositions: ['解決'], blockedNumbers: [],
  });

  it('disables with a confirmation stating that history is kept; a delete with history is refused with in_use in Japanese and the hint to disable', async () => {
    let disabled = false;
    const { fn, call } = fakeCall({
      listCampaigns: () => ({ campaigns: [existing] }),
      campaignAdmin: () => adminView({ callCount: 1234 }),
      setCampaignDisabled: ({ body }) => {
        disabled = body.disabled;
        return adminView({ disabled, disabledAt: '2026-11-30T15:30:00.000Z', callCount: 1234 });
      },
      deleteCampaign: () => { throw refusal('in_use', ['calls=1234', 'customers=5']); },
    });
    const user = userEvent.setup();
    mount(<CampaignsSection can={can(ALL)} call={call} />);
    await user.click(await screen.findByTestId('campaign-open-既存窓口'));
    expect(await screen.findByText('これまでの通話記録: 1,234 件')).toBeTruthy();
    const disable = screen.getByTestId('campaign-disable');
    await user.click(disable);
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('番号・顧客・通話記録・メモ・録音・設定はすべて残り');
    expect(dialog.textContent).toContain('使われていない番号として応答します');
    await user.click(within(dialog).getByTestId('campaign-confirm-ok'));
    await waitFor(() => expect(screen.getByTestId('campaign-state-text').textContent).toBe('2026年12月1日 00:30 から無効（着信は「使われていない番号」として扱われます）'));
    expect(fn.mock.calls.find((c) => c[0] === 'setCampaignDisabled')![1]).toEqual({ params: { id: existing.id }, body: { disabled: true } });
    expect(screen.getByTestId('campaign-row-既存窓口').dataset.disabled).toBe('true');
    await user.click(screen.getByTestId('campaign-delete'));
    expect(screen.getByRole('alertdialog').textContent).toContain('履歴があれば削除は拒否される');
    await user.click(screen.getByTestId('campaign-confirm-ok'));
    const error = await screen.findByTestId('campaign-editor-error');
    expect(error.textContent).toContain('通話記録 1,234 件');
    expect(error.textContent).toContain('顧客 5 件');
    expect(error.textContent).toContain('代わりに無効にしてください');
    expect(screen.getByTestId('campaign-row-既存窓口')).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByTestId('campaign-delete'));
  });

  it('edits keep special dates, and queue, recording and retention settings are checked by the schema and saved to their routes', async () => {
    const { fn, call } = fakeCall({
      listCampaigns: () => ({ campaigns: [existing] }),
      campaignAdmin: () => adminView(),
      patchCampaign: ({ body }) => ({ ...existing, ...body, hours: { ...body.hours } }),
      putCampaignQueue: ({ body }) => body,
      recordingSettings: ({ body, params }) => ({ ...body, campaignId: params.id }),
      retentionSettings: ({ body, params }) => ({ ...body, campaignId: params.id }),
    });
    const user = userEvent.setup();
    mount(<CampaignsSection can={can(ALL)} call={call} />);
    await user.click(await screen.findByTestId('campaign-open-既存窓口'));
    await screen.findByTestId('campaign-state');
    await user.type(screen.getByTestId('campaign-edit-ring-seconds'), '30');
    await user.click(screen.getByTestId('campaign-edit-submit'));
    await waitFor(() => expect(fn.mock.calls.some((c) => c[0] === 'patchCampaign')).toBe(true));
    const patch = (fn.mock.calls.find((c) => c[0] === 'patchCampaign')![1] as { body: any }).body;
    expect(patch.hours.specialDates).toEqual({ '2027-12-31': [{ open: '09:00', close: '12:00' }] });
    expect(patch.routing.ringSeconds).toBe(30);

    await user.clear(screen.getByTestId('campaign-queue-max-wait'));
    await user.type(screen.getByTestId('campaign-queue-max-wait'), '2');
    await user.click(screen.getByTestId('campaign-queue-save'));
    expect((await screen.findByTestId('campaign-editor-error')).dataset.code).toBe('validation_failed');
    expect(fn.mock.calls.some((c) => c[0] === 'putCampaignQueue')).toBe(false);
    await user.clear(screen.getByTestId('campaign-queue-max-wait'));
    await user.type(screen.getByTestId('campaign-queue-max-wait'), '300');
    await user.click(screen.getByTestId('campaign-queue-save'));
    await waitFor(() => expect(fn.mock.calls.find((c) => c[0] === 'putCampaignQueue')?.[1]).toEqual({ params: { id: existing.id }, body: { maxWaitSeconds: 300, maxSize: 20, overflowCampaignId: null } }));
    await user.selectOptions(screen.getByTestId('campaign-recording-mode'), 'all');
    await user.type(screen.getByTestId('campaign-recording-days'), '90');
    await user.click(screen.getByTestId('campaign-recording-save'));
    await waitFor(() => expect(fn.mock.calls.find((c) => c[0] === 'recordingSettings')?.[1]).toEqual({ params: { id: existing.id }, body: { mode: 'all', retentionDays: 90 } }));
    await user.type(screen.getByTestId('campaign-retention-calls'), '365');
    await user.click(screen.getByTestId('campaign-retention-save'));
    await waitFor(() => expect(fn.mock.calls.find((c) => c[0] === 'retentionSettings')?.[1]).toEqual({ params: { id: existing.id }, body: { calls: 365, notes: null, customers: null } }));
  });
});

describe('the console lists these sections by permission', () => {
  it('an operator sees none; users:read opens users, teams and roles; campaigns:manage opens campaigns', async () => {
    const { container } = mount(<AdminConsole permissions={['calls:handle', 'customers:read']} />);
    expect(container.innerHTML).toBe('');
    cleanup();
    mount(<AdminConsole permissions={['users:read']} />);
    expect(screen.getAllByRole('tab').map((t) => t.dataset.testid)).toEqual(['admin-tab-users', 'admin-tab-teams', 'admin-tab-roles']);
    cleanup();
    mount(<AdminConsole permissions={['campaigns:manage']} />);
    expect(screen.getAllByRole('tab').map((t) => t.dataset.testid)).toEqual(['admin-tab-campaigns']);
    await act(async () => {});
  });
});
