// The console's alerts and webhooks sections (issue 17): a live list announced politely,
// filter and acknowledge; a webhook form checked with the gateway's own schema, the secret
// shown once (focus moves to it and back), test, rotate with a confirmation, delete, the
// delivery log; refusals in the user's language; a lost connection loses nothing typed.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AlertView } from '../../shared/gateway/admin-alerts';
import { GatewayCallError } from '../../shared/gateway-client';
import { createI18n } from '../../renderer/src/i18n';
import { AlertsSection } from '../../renderer/src/features/admin/alerts/AlertsSection';
import { WebhooksSection } from '../../renderer/src/features/admin/webhooks/WebhooksSection';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';

const refusal = (code: string, violations?: string[]) => new GatewayCallError(code as never, `gateway said ${code}`, 400, violations ? { violations } : {});
const can = () => true;
const UNREACHABLE_EN = createI18n('en').t('admin.errors.unreachable');

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}

function alert(extra: Partial<AlertView> = {}): AlertView {
  return {
    id: crypto.randomUUID(), kind: 'new_device', userId: crypto.randomUUID(), username: 'op-1', deviceId: crypto.randomUUID(), deviceName: 'KOE-PC-01',
    sourceIp: '10.0.0.7', via: null, lockedUntil: null, occurrences: 1, createdAt: '2026-11-30T01:02:00.000Z', lastAt: '2026-11-30T01:02:00.000Z',
    acknowledgedAt: null, ...extra,
  };
}

/** A fake gateway: handlers by route name. */
function fakeCall(handlers: Record<string, (input: any) => unknown>) {
  return vi.fn(async (name: string, input: any = {}) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(input);
  }) as unknown as AdminCall & ReturnType<typeof vi.fn>;
}

afterEach(() => cleanup());

describe('alerts section', () => {
  it('lists alerts with kind and user, adds a pushed one without reload and announces it politely, acknowledges (keyboard only)', async () => {
    const first = alert({ kind: 'account_locked', username: 'lead-1', deviceId: null, deviceName: null, lockedUntil: '2026-11-30T02:00:00.000Z', via: 'auth.sign_in.failure' });
    const call = fakeCall({ listAlerts: () => ({ alerts: [first] }), ackAlert: () => ({ ok: true }) });
    let push: (a: AlertView) => void = () => {};
    const subscribe = vi.fn((l: (a: AlertView) => void) => {
      push = l;
      return () => {};
    });
    const user = userEvent.setup();
    mount(<AlertsSection can={can} call={call} subscribe={subscribe} />);
    const row = await screen.findByTestId('alert-row');
    expect(row.dataset.kind).toBe('account_locked');
    expect(within(row).getByTestId('alert-kind').textContent).toBe('アカウントのロック');
    expect(within(row).getByTestId('alert-user').textContent).toBe('lead-1');
    expect(row.textContent).toContain('2026年11月30日 11:00 までロック'); // Asia/Tokyo

    act(() => push(alert({ kind: 'ip_refused', username: 'op-9', sourceIp: '198.51.100.7', deviceId: null, deviceName: null, occurrences: 3, via: 'sign-in' })));
    const rows = screen.getAllByTestId('alert-row');
    expect(rows.map((r) => r.dataset.kind)).toEqual(['ip_refused', 'account_locked']);
    expect(rows[0]!.textContent).toContain('3 回');
    const live = screen.getByTestId('alerts-announcement');
    expect(live.getAttribute('aria-live')).toBe('polite');
    expect(live.textContent).toBe('新しいアラート: 許可されていないアドレス（op-9）');
    expect(call).toHaveBeenCalledTimes(1); // no reload

    // keyboard: Tab to the first acknowledge button and press Enter
    screen.getByTestId('alerts-reload').focus();
    await user.tab(); // into the table: the first acknowledge button
    expect(document.activeElement).toBe(screen.getAllByTestId('alert-ack')[0]);
    await user.keyboard('{Enter}');
    await waitFor(() => expect(screen.getAllByTestId('alert-row')[0]!.dataset.acknowledged).toBe('true'));
    expect(call).toHaveBeenCalledWith('ackAlert', { params: { id: expect.any(String) } });
  });

  it('filters the unacknowledged (asks the gateway), shows a refusal in English, and an acknowledgement that fails keeps the row open', async () => {
    const open = alert({ username: 'op-open' });
    const done = alert({ username: 'op-done', acknowledgedAt: '2026-11-30T01:05:00.000Z' });
    const call = fakeCall({
      listAlerts: ({ query }) => ({ alerts: query?.unacknowledged === 'true' ? [open] : [open, done] }),
      ackAlert: () => { throw new TypeError('fetch failed'); },
    });
    const user = userEvent.setup();
    mount(<AlertsSection can={can} call={call} subscribe={() => () => {}} />, 'en');
    await waitFor(() => expect(screen.getAllByTestId('alert-row')).toHaveLength(2));
    await user.click(screen.getByLabelText('Unacknowledged only'));
    await waitFor(() => expect(screen.getAllByTestId('alert-row').map((r) => r.dataset.user)).toEqual(['op-open']));
    expect(call).toHaveBeenLastCalledWith('listAlerts', { query: { unacknowledged: 'true' } });
    await user.click(screen.getByTestId('alert-ack'));
    expect((await screen.findByTestId('alerts-error')).textContent).toBe('Something went wrong. Please try again; if it keeps happening, contact IT.');
    expect(screen.getByTestId('alert-row').dataset.acknowledged).toBe('false');
  });

  it('a gateway refusal (forbidden) is explained, not hidden', async () => {
    const call = fakeCall({ listAlerts: () => { throw refusal('forbidden'); } });
    mount(<AlertsSection can={can} call={call} subscribe={() => () => {}} />);
    expect((await screen.findByTestId('alerts-error')).textContent).toBe('この操作の権限がありません。');
  });
});

describe('webhooks section', () => {
  const hook = { id: crypto.randomUUID(), url: 'https://hooks.example.com/koe', enabled: true, createdAt: '2026-11-30T01:00:00.000Z', rotatedAt: null };

  it('checks the URL with the gateway schema before sending, shows the secret once with focus on it, and returns focus to the form', async () => {
    const call = fakeCall({
      listWebhooks: () => ({ webhooks: [] }),
      createWebhook: ({ body }) => ({ webhook: { ...hook, url: body.url }, secret: 'whsec_SECRET' }),
    });
    const user = userEvent.setup();
    mount(<WebhooksSection can={can} call={call} />);
    await screen.findByTestId('webhooks-none');
    const input = screen.getByLabelText('送信先 URL');
    await user.type(input, 'http://hooks.example.com/koe');
    await user.click(screen.getByTestId('webhook-create'));
    expect(screen.getByTestId('webhook-url-error').textContent).toBe('https:// の URL を指定してください。');
    expect(call).not.toHaveBeenCalledWith('createWebhook', expect.anything());
    await user.clear(input);
    await user.type(input, 'https://169.254.169.254/latest');
    await user.keyboard('{Enter}');
    expect(screen.getByTestId('webhook-url-error').textContent).toContain('リンクローカル');
    await user.clear(input);
    await user.type(input, 'https://hooks.example.com/koe{Enter}');
    const box = await screen.findByTestId('webhook-secret-box');
    expect(screen.getByTestId('webhook-secret').textContent).toBe('whsec_SECRET');
    await waitFor(() => expect(document.activeElement).toBe(box));
    expect(screen.getByTestId('webhook-row').dataset.url).toBe('https://hooks.example.com/koe');
    await user.click(screen.getByTestId('webhook-secret-done'));
    expect(screen.queryByTestId('webhook-secret')).toBeNull();
    expect(document.activeElement).toBe(input);
  });

  it('a lost connection mid-save keeps the URL typed; the gateway\'s URL refusal is shown in the user\'s language', async () => {
    let fail: 'network' | 'refuse' = 'network';
    const call = fakeCall({
      listWebhooks: () => ({ webhooks: [] }),
      createWebhook: () => {
        if (fail === 'network') throw refusal('unreachable');
        throw refusal('validation_failed', ['private_target']);
      },
    });
    const user = userEvent.setup();
    mount(<WebhooksSection can={can} call={call} />, 'en');
    await screen.findByTestId('webhooks-none');
    const input = screen.getByLabelText('Target URL') as HTMLInputElement;
    await user.type(input, 'https://127.0.0.1:9000/hook');
    await user.click(screen.getByTestId('webhook-create'));
    expect((await screen.findByTestId('webhooks-error')).textContent).toBe(UNREACHABLE_EN);
    expect(input.value).toBe('https://127.0.0.1:9000/hook');
    fail = 'refuse';
    await user.click(screen.getByTestId('webhook-create'));
    expect((await screen.findByTestId('webhook-url-error')).textContent).toBe('Internal, loopback and link-local addresses cannot be targets.');
    expect(input.value).toBe('https://127.0.0.1:9000/hook');
  });

  it('test, rotate after a confirmation (new secret once), delivery log, delete after a confirmation', async () => {
    const call = fakeCall({
      listWebhooks: () => ({ webhooks: [hook] }),
      testWebhook: () => ({ deliveryId: crypto.randomUUID() }),
      rotateWebhookSecret: () => ({ webhook: { ...hook, rotatedAt: '2026-11-30T03:00:00.000Z' }, secret: 'whsec_NEW' }),
      listWebhookDeliveries: () => ({
        deliveries: [{
          id: crypto.randomUUID(), event: 'alert.created', alertId: null, status: 'pending', attempts: 2, lastStatus: 500, lastError: 'HTTP 500',
          nextAttemptAt: '2026-11-30T03:05:00.000Z', createdAt: '2026-11-30T03:00:00.000Z', deliveredAt: null, attemptLog: [],
        }],
      }),
      deleteWebhook: () => ({ ok: true }),
    });
    const user = userEvent.setup();
    mount(<WebhooksSection can={can} call={call} />);
    await screen.findByTestId('webhook-row');
    await user.click(screen.getByTestId('webhook-test'));
    expect((await screen.findByTestId('webhooks-notice')).textContent).toBe('テスト送信をキューに入れました。');

    const rotate = screen.getByTestId('webhook-rotate');
    await user.click(rotate);
    expect(screen.getByTestId('webhook-confirm').textContent).toContain('直ちに無効');
    expect(document.activeElement).toBe(screen.getByTestId('webhook-confirm-yes'));
    await user.click(screen.getByTestId('webhook-confirm-no'));
    expect(document.activeElement).toBe(rotate);
    expect(call).not.toHaveBeenCalledWith('rotateWebhookSecret', expect.anything());
    await user.click(rotate);
    await user.click(screen.getByTestId('webhook-confirm-yes'));
    expect((await screen.findByTestId('webhook-secret')).textContent).toBe('whsec_NEW');
    await user.click(screen.getByTestId('webhook-secret-done'));
    expect(document.activeElement).toBe(screen.getByTestId('webhook-rotate'));

    await user.click(screen.getByTestId('webhook-deliveries'));
    const d = await screen.findByTestId('delivery-row');
    expect(d.dataset.status).toBe('pending');
    expect(within(d).getByTestId('delivery-status').textContent).toBe('再試行待ち');
    expect(within(d).getByTestId('delivery-attempts').textContent).toBe('2');
    expect(within(d).getByTestId('delivery-error').textContent).toBe('HTTP 500');
    expect(within(d).getByTestId('delivery-next').textContent).toBe('2026年11月30日 12:05');

    await user.click(screen.getByTestId('webhook-delete'));
    await user.click(screen.getByTestId('webhook-confirm-yes'));
    await waitFor(() => expect(screen.queryByTestId('webhook-row')).toBeNull());
    expect(call).toHaveBeenCalledWith('deleteWebhook', { params: { id: hook.id } });
  });
});
