// The admin console's org policy and audit log sections (issue 17): the policy form checks as
// the admin types with the gateway's own schema, sends only the changed fields, explains a
// lockout refusal in the admin's language (and adds their address), and keeps everything typed
// when a save fails or the connection is lost; the audit log filters, pages by keyset, shows
// the chain's status and exports. The gateway is a fake `call`.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayCallError } from '../../shared/gateway-client';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../shared/gateway/policy';
import type { AuditEntryView } from '../../shared/gateway/api';
import type { AuditStatusResponse } from '../../shared/gateway/admin-policy';
import type { Permission } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import { PolicySection } from '../../renderer/src/features/admin/policy/PolicySection';
import { AuditSection, AUDIT_PAGE } from '../../renderer/src/features/admin/audit/AuditSection';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';
import type { ReactNode } from 'react';

afterEach(() => cleanup());

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}
const can = (p: Permission) => ['policy:manage', 'audit:read', 'users:read'].includes(p);
type Handler = (input: { body?: any; query?: any; params?: any }) => Promise<unknown>;
function fakeCall(handlers: Record<string, Handler>) {
  const fn = vi.fn(async (name: string, input: { body?: any; query?: any } = {}) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(input);
  });
  return fn as unknown as AdminCall & typeof fn;
}
const lockoutRefusal = (lockout: { address: string; org: boolean; role: string | null }) =>
  new GatewayCallError('policy_lockout', 'your address is not in the list', 400, { lockout });
const roles = async () => ({ roles: ['admin', 'operator', 'team_lead'].map((key) => ({ id: crypto.randomUUID(), key, name: key, permissions: [], builtin: true })) });

describe('org policy section', () => {
  it('sends only the changed fields, explains a lockout refusal in Japanese, keeps the form, adds the address and saves', async () => {
    let stored: OrgPolicy = structuredClone(DEFAULT_ORG_POLICY);
    const patches: unknown[] = [];
    const call = fakeCall({
      getPolicy: async () => ({ policy: stored }),
      listRoles: roles,
      patchPolicy: async ({ body }) => {
        patches.push(body);
        const org: string[] = body.ipAllowlist?.org ?? stored.ipAllowlist.org;
        if (org.length > 0 && !org.includes('203.0.113.7')) throw lockoutRefusal({ address: '203.0.113.7', org: true, role: null });
        stored = { ...stored, lockout: { ...stored.lockout, ...body.lockout }, ipAllowlist: { ...stored.ipAllowlist, org } };
        return { policy: stored };
      },
    });
    const user = userEvent.setup();
    mount(<PolicySection can={can} call={call} />);
    const max = await screen.findByLabelText('ロックするまでの失敗回数');
    expect(screen.getByTestId('policy-state').textContent).toBe('変更はありません。');
    expect(screen.getByTestId('policy-save')).toHaveProperty('disabled', true);
    await user.clear(max);
    await user.type(max, '3');
    const org = screen.getByLabelText('組織全体の許可リスト');
    await user.type(org, '198.51.100.0/24');
    expect(screen.getByTestId('policy-state').textContent).toBe('未保存の変更: 2 件');
    expect(screen.getByTestId('policy-field-lockout-maxFailures-changed')).toBeTruthy();
    await user.click(screen.getByTestId('policy-save'));

    const alert = await screen.findByTestId('policy-error');
    expect(alert.dataset.code).toBe('policy_lockout');
    expect(within(alert).getByTestId('policy-lockout-org').textContent).toContain('あなたのアドレス 203.0.113.7 は、保存しようとしている組織全体の許可リストに含まれていません');
    expect(document.activeElement).toBe(alert);
    expect(patches[0]).toEqual({ lockout: { maxFailures: 3 }, ipAllowlist: { org: ['198.51.100.0/24'] } });
    // nothing typed was lost
    expect((screen.getByLabelText('ロックするまでの失敗回数') as HTMLInputElement).value).toBe('3');
    expect((org as HTMLTextAreaElement).value).toBe('198.51.100.0/24');

    await user.click(within(alert).getByTestId('policy-lockout-add-org'));
    expect((org as HTMLTextAreaElement).value).toBe('198.51.100.0/24\n203.0.113.7');
    expect(screen.queryByTestId('policy-error')).toBeNull();
    await user.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(screen.getByTestId('policy-state').textContent).toBe('保存しました。'));
    expect(patches[1]).toEqual({ lockout: { maxFailures: 3 }, ipAllowlist: { org: ['198.51.100.0/24', '203.0.113.7'] } });
    expect(stored.lockout.maxFailures).toBe(3);
  });

  it('explains a role-list lockout in English and offers to add the address to that role\'s list', async () => {
    const call = fakeCall({
      getPolicy: async () => ({ policy: DEFAULT_ORG_POLICY }),
      listRoles: roles,
      patchPolicy: async () => { throw lockoutRefusal({ address: '2001:db8::7', org: false, role: 'admin' }); },
    });
    const user = userEvent.setup();
    mount(<PolicySection can={can} call={call} />, 'en');
    const adminList = await screen.findByLabelText('Allowlist of role "admin"');
    await user.type(adminList, '192.0.2.0/24');
    await user.click(screen.getByTestId('policy-save'));
    const alert = await screen.findByTestId('policy-error');
    expect(within(alert).getByTestId('policy-lockout-role').textContent).toContain('Your address 2001:db8::7 is not in the allowlist of your role "admin" you are saving');
    expect(within(alert).queryByTestId('policy-lockout-org')).toBeNull();
    expect(call.mock.calls.find(([n]) => n === 'patchPolicy')![1]).toEqual({ body: { ipAllowlist: { roles: { admin: ['192.0.2.0/24'] } } } });
    await user.click(within(alert).getByTestId('policy-lockout-add-role'));
    expect((adminList as HTMLTextAreaElement).value).toBe('192.0.2.0/24\n2001:db8::7');
  });

  it('checks as the admin types with the gateway\'s schema: a bad CIDR line, a number out of range, min above max, an unknown zone (save disabled)', async () => {
    const call = fakeCall({ getPolicy: async () => ({ policy: DEFAULT_ORG_POLICY }), listRoles: roles });
    const user = userEvent.setup();
    mount(<PolicySection can={can} call={call} />);
    const org = await screen.findByLabelText('組織全体の許可リスト');
    await user.type(org, '10.0.0.0/8\n10.0.0.0/33');
    expect(screen.getByTestId('policy-field-ipAllowlist-org-issue').textContent).toBe('2 行目: IP アドレスまたは CIDR（例: 203.0.113.0/24）ではありません。');
    expect(org.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByTestId('policy-save')).toHaveProperty('disabled', true);
    await user.clear(org);
    const ring = screen.getByLabelText('着信を呼び出す時間（秒）');
    await user.clear(ring);
    await user.type(ring, '90');
    expect(screen.getByTestId('policy-field-agents-ringSeconds-issue').textContent).toBe('55 以下にしてください。');
    await user.clear(ring);
    await user.type(ring, '三十');
    expect(screen.getByTestId('policy-field-agents-ringSeconds-issue').textContent).toBe('整数を入力してください。');
    await user.clear(ring);
    await user.type(ring, '30');
    const min = screen.getByLabelText('最小文字数');
    await user.clear(min);
    await user.type(min, '100');
    const maxLen = screen.getByLabelText('最大文字数');
    await user.clear(maxLen);
    await user.type(maxLen, '64');
    expect(screen.getByTestId('policy-field-password-maxLength-issue').textContent).toBe('最小文字数が最大文字数を超えています。');
    await user.clear(maxLen);
    await user.type(maxLen, '128');
    const zone = screen.getByLabelText('組織のタイムゾーン（IANA 名、例: Asia/Tokyo）');
    await user.clear(zone);
    await user.type(zone, 'Mars/Olympus');
    expect(screen.getByTestId('policy-field-timeZone-issue').textContent).toBe('IANA のタイムゾーン名（例: Asia/Tokyo）ではありません。');
    expect(screen.getByTestId('policy-save')).toHaveProperty('disabled', true);
    await user.clear(zone);
    await user.type(zone, 'Asia/Tokyo');
    expect(screen.queryByTestId('policy-field-timeZone-issue')).toBeNull();
    expect(call.mock.calls.some(([n]) => n === 'patchPolicy')).toBe(false);
  });

  it('a lost connection mid-save loses nothing: the message says so, the edits stay, the next save sends them', async () => {
    let online = false;
    const call = fakeCall({
      getPolicy: async () => ({ policy: DEFAULT_ORG_POLICY }),
      listRoles: roles,
      patchPolicy: async ({ body }) => {
        if (!online) throw new GatewayCallError('unreachable', 'The gateway did not answer');
        return { policy: { ...DEFAULT_ORG_POLICY, client: { ...DEFAULT_ORG_POLICY.client, ...body.client }, totpRequiredRoles: body.totpRequiredRoles } };
      },
    });
    const user = userEvent.setup();
    mount(<PolicySection can={can} call={call} />);
    const idle = await screen.findByLabelText('操作がないと画面をロックするまで（秒）');
    await user.clear(idle);
    await user.type(idle, '120');
    await user.click(screen.getByTestId('policy-field-client-blurOnFocusLoss'));
    await user.click(screen.getByTestId('policy-field-totpRequiredRoles-team_lead'));
    await user.click(screen.getByTestId('policy-save'));
    const alert = await screen.findByTestId('policy-error');
    expect(alert.textContent).toContain('入力内容はそのまま残っています');
    expect((idle as HTMLInputElement).value).toBe('120');
    expect((screen.getByTestId('policy-field-client-blurOnFocusLoss') as HTMLInputElement).checked).toBe(true);
    expect(screen.getByTestId('policy-state').textContent).toBe('未保存の変更: 3 件');
    online = true;
    await user.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(screen.getByTestId('policy-state').textContent).toBe('保存しました。'));
    expect(call.mock.calls.filter(([n]) => n === 'patchPolicy').at(-1)![1]).toEqual({
      body: { client: { idleTimeoutSeconds: 120, blurOnFocusLoss: true }, totpRequiredRoles: ['admin', 'team_lead'] },
    });
  });
});

const entry = (seq: number, extra: Partial<AuditEntryView> = {}): AuditEntryView => ({
  seq, at: new Date(Date.UTC(2026, 10, 30, 1, 2, 3) + seq * 1000).toISOString(), orgId: crypto.randomUUID(), actorUserId: null, actorUsername: `user-${seq % 3}`,
  action: seq % 2 ? 'auth.sign_in.success' : 'policy.changed', targetType: 'user', targetId: `t-${seq}`, sourceIp: '203.0.113.7', deviceId: null,
  detail: {}, prevHash: '0'.repeat(64), hash: '1'.repeat(64), ...extra,
});
/** A gateway with `total` entries seq 1..total answering the audit route like the real one (newest first, before, limit). */
function auditGateway(total: number, status: AuditStatusResponse[] = []) {
  const all = Array.from({ length: total }, (_, i) => entry(i + 1));
  const statuses = [...status];
  return fakeCall({
    audit: async ({ query }) => {
      let rows = all.filter((e) => (query.before === undefined || e.seq < Number(query.before)));
      if (query.action) rows = rows.filter((e) => (query.action.endsWith('.*') ? e.action.startsWith(query.action.slice(0, -1)) : e.action === query.action));
      if (query.actorUserId) rows = rows.filter((e) => e.actorUserId === query.actorUserId);
      return { entries: rows.reverse().slice(0, Number(query.limit)) };
    },
    auditStatus: async () => statuses.length > 1 ? statuses.shift()! : statuses[0] ?? { headSeq: total, verifiedSeq: total, verifiedAt: new Date().toISOString(), recheckSeq: 0, recheckCompletedAt: null, broken: null },
    auditExport: async ({ query }) => {
      const rows = all.filter((e) => e.seq > Number(query.cursor)).slice(0, Number(query.limit));
      return { entries: rows, nextCursor: rows.at(-1)?.seq ?? Number(query.cursor) };
    },
    listUsers: async ({ query }) => ({ users: [{ id: '5b0e7e5c-8a2e-4c39-9f55-1f1d8c4f2a11', orgId: crypto.randomUUID(), username: `${query.q}-1`, displayName: '佐藤 花子', role: 'admin', permissions: [], teamIds: [], disabled: false, totpEnabled: true, mustChangePassword: false, locked: false }], nextCursor: null }),
  });
}

describe('audit log section', () => {
  it('filters by action prefix, pages next and previous by keyset, and reads rows by test id', async () => {
    const call = auditGateway(250);
    const user = userEvent.setup();
    mount(<AuditSection can={can} call={call} />);
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(AUDIT_PAGE));
    expect(screen.getAllByTestId('audit-row')[0]!.dataset.seq).toBe('250');
    await user.type(screen.getByLabelText('操作（前方一致は末尾に .* を付けます）'), 'auth.*');
    await user.click(screen.getByTestId('audit-apply'));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')[0]!.dataset.seq).toBe('249'));
    const rows = () => screen.getAllByTestId('audit-row');
    expect(rows().every((r) => within(r).getByTestId('audit-cell-action').textContent === 'auth.sign_in.success')).toBe(true);
    expect(within(rows()[0]!).getByTestId('audit-cell-at').textContent).toBe('2026年11月30日 10:06:12');
    expect(call.mock.calls.at(-1)![1]).toEqual({ query: { action: 'auth.*', limit: AUDIT_PAGE + 1 } });
    expect(screen.getByTestId('audit-previous')).toHaveProperty('disabled', true);
    await user.click(screen.getByTestId('audit-next'));
    await waitFor(() => expect(rows()[0]!.dataset.seq).toBe('149'));
    expect(call.mock.calls.at(-1)![1]).toEqual({ query: { action: 'auth.*', limit: AUDIT_PAGE + 1, before: 151 } });
    expect(screen.getByTestId('audit-page').textContent).toBe('2 ページ目');
    await user.click(screen.getByTestId('audit-next'));
    await waitFor(() => expect(rows()).toHaveLength(25));
    expect(screen.getByTestId('audit-next')).toHaveProperty('disabled', true);
    await user.click(screen.getByTestId('audit-previous'));
    await waitFor(() => expect(rows()[0]!.dataset.seq).toBe('149'));
    await user.click(screen.getByTestId('audit-previous'));
    await waitFor(() => expect(rows()[0]!.dataset.seq).toBe('249'));
    expect(screen.getByTestId('audit-page').textContent).toBe('1 ページ目');
  });

  it('checks filters with the gateway\'s schema (address, time range) and picks the actor from a user search', async () => {
    const call = auditGateway(10);
    const user = userEvent.setup();
    mount(<AuditSection can={can} call={call} />);
    await screen.findAllByTestId('audit-row');
    const ip = screen.getByLabelText('接続元 IP アドレス');
    await user.type(ip, '10.0.0.0/8');
    expect(screen.getByTestId('audit-filter-sourceIp-issue').textContent).toBe('IP アドレス（例: 203.0.113.7）を入力してください。');
    expect(screen.getByTestId('audit-apply')).toHaveProperty('disabled', true);
    await user.clear(ip);
    await user.type(ip, '203.0.113.7');
    const from = screen.getByLabelText('開始日時（日本時間）');
    const to = screen.getByLabelText('終了日時（日本時間）');
    await user.type(from, '2026-11-30T12:00');
    await user.type(to, '2026-11-30T09:00');
    expect(screen.getByTestId('audit-filter-to-issue').textContent).toBe('終了日時は開始日時より後にしてください。');
    await user.clear(to);
    await user.type(to, '2026-12-01T09:00');
    await user.type(screen.getByTestId('audit-actor-search'), 'sato');
    await user.click(screen.getByTestId('audit-actor-find'));
    await screen.findByRole('option', { name: '佐藤 花子 (sato-1)' });
    await user.selectOptions(screen.getByTestId('audit-filter-actor'), '佐藤 花子 (sato-1)');
    await user.click(screen.getByTestId('audit-apply'));
    await waitFor(() => expect(screen.getByTestId('audit-empty')).toBeTruthy());
    expect(call.mock.calls.at(-1)![1]).toEqual({
      query: { actorUserId: '5b0e7e5c-8a2e-4c39-9f55-1f1d8c4f2a11', sourceIp: '203.0.113.7', from: '2026-11-30T12:00:00+09:00', to: '2026-12-01T09:00:00+09:00', limit: AUDIT_PAGE + 1 },
    });
  });

  it('a refused or failed page keeps the page shown and the filters typed', async () => {
    const call = auditGateway(60);
    const user = userEvent.setup();
    mount(<AuditSection can={can} call={call} />);
    await screen.findAllByTestId('audit-row');
    const real = call.getMockImplementation()!;
    call.mockImplementation(async (name: string, input?: any) => {
      if (name === 'audit') throw new GatewayCallError('unreachable', 'down');
      return real(name as never, input);
    });
    await user.type(screen.getByLabelText('対象 ID'), 't-1');
    await user.click(screen.getByTestId('audit-next'));
    expect((await screen.findByTestId('audit-error')).dataset.code).toBe('unreachable');
    expect(screen.getAllByTestId('audit-row')[0]!.dataset.seq).toBe('60');
    expect(screen.getByTestId('audit-page').textContent).toBe('1 ページ目');
    expect((screen.getByLabelText('対象 ID') as HTMLInputElement).value).toBe('t-1');
  });

  it('shows the chain verifying until caught up, then "verified up to", and a broken chain in Japanese', async () => {
    const at = '2026-11-30T01:00:00.000Z';
    const call = auditGateway(3, [
      { headSeq: 1_000_000, verifiedSeq: 10_000, verifiedAt: at, recheckSeq: 0, recheckCompletedAt: null, broken: null },
      { headSeq: 1_000_000, verifiedSeq: 1_000_000, verifiedAt: at, recheckSeq: 0, recheckCompletedAt: at, broken: null },
    ]);
    mount(<AuditSection can={can} call={call} />);
    await waitFor(() => expect(screen.getByTestId('audit-chain-status').textContent).toBe('検証中: #10,000 / #1,000,000'));
    await waitFor(() => expect(screen.getByTestId('audit-chain-status').textContent).toBe('#1,000,000 まで検証済み（2026年11月30日 10:00:00）'));
    expect(screen.getByTestId('audit-chain').dataset.state).toBe('verified');
    cleanup();
    const broken = auditGateway(3, [{ headSeq: 500, verifiedSeq: 41, verifiedAt: at, recheckSeq: 0, recheckCompletedAt: null, broken: { seq: 42, kind: 'altered', detectedAt: at } }]);
    mount(<AuditSection can={can} call={broken} />);
    await waitFor(() => expect(screen.getByTestId('audit-chain-status').textContent).toBe('#42 で異常を検出しました（2026年11月30日 10:00:00）: 内容が書き換えられています。IT 担当者に連絡してください。'));
    expect(screen.getByTestId('audit-chain').dataset.state).toBe('broken');
  });

  it('exports as JSON Lines to copy, oldest first, page by page from the cursor', async () => {
    const call = auditGateway(1500);
    const user = userEvent.setup();
    mount(<AuditSection can={can} call={call} />);
    await user.click(screen.getByTestId('audit-export-start'));
    const text = (await screen.findByTestId('audit-export-text')) as HTMLTextAreaElement;
    expect(text.value.split('\n')).toHaveLength(1000);
    expect(JSON.parse(text.value.split('\n')[0]!).seq).toBe(1);
    await user.click(screen.getByTestId('audit-export-more'));
    await waitFor(() => expect(text.value.split('\n')).toHaveLength(1500));
    expect(call.mock.calls.filter(([n]) => n === 'auditExport').map(([, i]) => (i as any).query.cursor)).toEqual([0, 1000]);
    expect(screen.getByTestId('audit-export-progress').textContent).toContain('最新のエントリまで読み込みました。');
    await act(async () => {});
  });
});
