// Self-service screens (issue 17): TOTP enrolment with the QR code and the recovery codes shown
// once, sign-in with a recovery code, password change with the org's rules as you type, my PCs,
// and the new-PC notice; in Japanese and English, with the keyboard alone, the gateway's
// refusals shown in the user's language and nothing typed lost on a failed save.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayCallError } from '../../shared/gateway-client';
import { DEFAULT_PASSWORD_POLICY } from '../../shared/rules/password-policy';
import type { SessionState } from '../../shared/ipc/contract';
import { createI18n } from '../../renderer/src/i18n';
import { useSessionStore, workspaceUserId } from '../../renderer/src/app/session-store';
import { TotpEnrolmentScreen } from '../../renderer/src/features/account/TotpEnrolmentScreen';
import { PasswordChange } from '../../renderer/src/features/account/PasswordChange';
import { PasswordChangeScreen } from '../../renderer/src/features/account/PasswordChangeScreen';
import { MyDevices } from '../../renderer/src/features/account/MyDevices';
import { NewPcNotice } from '../../renderer/src/features/account/NewPcNotice';
import { SignInScreen } from '../../renderer/src/features/signin/SignInScreen';
import type { ReactNode } from 'react';

const ok = <T,>(value: T) => Promise.resolve({ ok: true as const, value });
const refusal = (code: string, violations?: string[]) => new GatewayCallError(code as never, `gateway said ${code}`, 400, violations ? { violations } : {});

function mount(ui: ReactNode, language: 'ja' | 'en' = 'ja') {
  return render(<I18nextProvider i18n={createI18n(language)}>{ui}</I18nextProvider>);
}

const signedIn = (extra: Partial<Extract<SessionState, { status: 'signed-in' }>> = {}): SessionState => ({
  status: 'signed-in',
  user: { id: 'u1', username: 'admin-1', displayName: '管理 太郎', role: 'admin', permissions: [] },
  device: null,
  totpEnrolmentRequired: true,
  passwordChangeRequired: false,
  absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  ...extra,
});

/** A window.koe with only what these screens call. */
function fakeKoe(handlers: { reload?: () => Promise<unknown>; signIn?: (input: unknown) => Promise<unknown>; signOut?: () => Promise<unknown> }) {
  const api = {
    session: {
      reload: vi.fn(handlers.reload ?? (() => ok(signedIn({ totpEnrolmentRequired: false })))),
      signIn: vi.fn(handlers.signIn ?? (() => ok({ outcome: 'refused', code: 'totp_required' }))),
      signOut: vi.fn(handlers.signOut ?? (() => ok({ status: 'signed-out', reason: 'signed-out' }))),
    },
    on: () => () => {},
  };
  Object.defineProperty(window, 'koe', { value: api, configurable: true });
  return api;
}

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>';
const CODES = ['abcde-fghjk', 'mnpqr-stuvw', '23456-789ab'];

afterEach(() => {
  cleanup();
  useSessionStore.setState({ session: { status: 'signed-out', reason: null }, pending: false, refusal: null, needsTotp: false });
});

describe('TOTP enrolment (an enrolment-only session)', () => {
  it('shows the QR code as an image and the key as text, refuses a wrong code in Japanese keeping it, then shows the recovery codes once and finishes (keyboard only)', async () => {
    const koe = fakeKoe({});
    useSessionStore.setState({ session: signedIn() });
    const api = {
      totpEnrol: vi.fn(async () => ({ secret: 'JBSWY3DPEHPK3PXP', otpauthUri: 'otpauth://totp/Koe:admin-1?secret=JBSWY3DPEHPK3PXP', qrSvg: SVG })),
      totpConfirm: vi.fn(async (code: string) => {
        if (code !== '123456') throw refusal('totp_invalid');
        return { recoveryCodes: CODES };
      }),
    };
    const user = userEvent.setup();
    mount(<TotpEnrolmentScreen api={api} />);
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: '二要素認証の設定' }));
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('totp-start'));
    await user.keyboard('{Enter}');
    const qr = await screen.findByRole('img', { name: '認証アプリに登録するための QR コード' });
    expect(qr.getAttribute('src')).toBe(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(SVG)}`);
    expect(screen.getByTestId('totp-secret').textContent).toBe('JBSWY3DPEHPK3PXP');
    // the QR text never enters the DOM as markup (an <img> runs no script)
    expect(document.querySelector('svg')).toBeNull();

    await user.click(screen.getByLabelText('確認コード（6 桁）'));
    await user.keyboard('99a9999'); // letters dropped, six digits kept
    expect((screen.getByLabelText('確認コード（6 桁）') as HTMLInputElement).value).toBe('999999');
    await user.keyboard('{Enter}');
    const error = await screen.findByTestId('totp-error');
    expect(error.dataset.code).toBe('totp_invalid');
    expect(error.textContent).toContain('コードが正しくないか');
    expect((screen.getByLabelText('確認コード（6 桁）') as HTMLInputElement).value).toBe('999999');

    await user.clear(screen.getByLabelText('確認コード（6 桁）'));
    await user.type(screen.getByLabelText('確認コード（6 桁）'), '123456{Enter}');
    const list = await screen.findByTestId('recovery-code-list');
    expect(within(list).getAllByRole('listitem').map((li) => li.textContent)).toEqual(CODES);
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'リカバリーコード' }));
    const cont = screen.getByTestId('recovery-continue') as HTMLButtonElement;
    expect(cont.disabled).toBe(true);
    // keyboard: through copy and print to the checkbox, Space ticks it, Tab to Continue, Enter
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('recovery-copy'));
    await user.tab();
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText('リカバリーコードを安全な場所に保管しました'));
    await user.keyboard(' ');
    expect(cont.disabled).toBe(false);
    await user.tab();
    expect(document.activeElement).toBe(cont);
    await user.keyboard('{Enter}');
    await waitFor(() => expect(koe.session.reload).toHaveBeenCalledTimes(1));
    await waitFor(() => expect((useSessionStore.getState().session as { totpEnrolmentRequired: boolean }).totpEnrolmentRequired).toBe(false));
  });

  it('in English: the gateway refusal in English; a lost connection keeps the code typed', async () => {
    fakeKoe({});
    useSessionStore.setState({ session: signedIn() });
    const api = {
      totpEnrol: async () => ({ secret: 'JBSWY3DPEHPK3PXP', otpauthUri: 'otpauth://x', qrSvg: SVG }),
      totpConfirm: vi.fn(async () => {
        throw new GatewayCallError('unreachable', 'no answer');
      }),
    };
    const user = userEvent.setup();
    mount(<TotpEnrolmentScreen api={api} />, 'en');
    await user.click(screen.getByRole('button', { name: 'Set up two-factor authentication' }));
    await user.type(await screen.findByLabelText('Verification code (6 digits)'), '654321{Enter}');
    const error = await screen.findByTestId('totp-error');
    expect(error.textContent).toContain('Cannot reach the gateway. What you entered is kept');
    expect((screen.getByLabelText('Verification code (6 digits)') as HTMLInputElement).value).toBe('654321');
    expect(screen.queryByTestId('recovery-codes')).toBeNull();
  });

  it('started twice (double click, then "start again"): one request at a time, and the newest key is the one shown', async () => {
    fakeKoe({});
    useSessionStore.setState({ session: signedIn() });
    const answers: ((v: { secret: string; otpauthUri: string; qrSvg: string }) => void)[] = [];
    const api = {
      totpEnrol: () => new Promise<{ secret: string; otpauthUri: string; qrSvg: string }>((resolve) => answers.push(resolve)),
      totpConfirm: vi.fn(),
    };
    const user = userEvent.setup();
    mount(<TotpEnrolmentScreen api={api} />);
    await user.click(screen.getByTestId('totp-start'));
    await user.click(screen.getByTestId('totp-start')); // disabled while pending: no second request
    expect(answers).toHaveLength(1);
    await act(async () => answers[0]!({ secret: 'FIRSTSECRETAAAAA', otpauthUri: 'otpauth://1', qrSvg: SVG }));
    await user.click(screen.getByTestId('totp-restart'));
    expect(answers).toHaveLength(2);
    await act(async () => answers[1]!({ secret: 'SECONDSECRETBBBB', otpauthUri: 'otpauth://2', qrSvg: SVG }));
    expect(screen.getByTestId('totp-secret').textContent).toBe('SECONDSECRETBBBB');
  });

  it('says so when main cannot finish (the session stays enrolment-only), and lets the user try again', async () => {
    const koe = fakeKoe({ reload: () => ok(signedIn({ totpEnrolmentRequired: true })) });
    useSessionStore.setState({ session: signedIn() });
    const api = { totpEnrol: async () => ({ secret: 'S', otpauthUri: 'o', qrSvg: SVG }), totpConfirm: async () => ({ recoveryCodes: CODES }) };
    const user = userEvent.setup();
    mount(<TotpEnrolmentScreen api={api} />);
    await user.click(screen.getByTestId('totp-start'));
    await user.type(await screen.findByTestId('totp-code'), '111111{Enter}');
    await user.click(await screen.findByTestId('recovery-stored'));
    await user.click(screen.getByTestId('recovery-continue'));
    await screen.findByTestId('totp-finish-error');
    expect(screen.getByTestId('recovery-code-list')).toBeTruthy(); // the codes are still on screen
    expect(koe.session.reload).toHaveBeenCalledTimes(1);
  });
});

describe('sign-in with a recovery code', () => {
  it('offers a recovery code on the TOTP step and sends it as typed (the gateway normalises spaces and capitals)', async () => {
    const koe = fakeKoe({});
    const user = userEvent.setup();
    mount(<SignInScreen />);
    await user.type(screen.getByLabelText('ユーザー名'), 'admin-1');
    await user.type(screen.getByLabelText('パスワード'), 'Correct-Horse-1!{Enter}');
    await screen.findByLabelText('確認コード（6 桁）');
    await user.click(screen.getByRole('button', { name: 'リカバリーコードを使う' }));
    const field = screen.getByLabelText('リカバリーコード');
    expect(document.activeElement).toBe(field);
    const submit = screen.getByRole('button', { name: 'サインイン' }) as HTMLButtonElement;
    await user.keyboard('abc_');
    expect(submit.disabled).toBe(true); // not a code's characters: not sent
    await user.clear(field);
    await user.keyboard(' ABCDE FGHJK ');
    expect(submit.disabled).toBe(false);
    koe.session.signIn.mockImplementationOnce(() => ok({ outcome: 'refused', code: 'totp_invalid' }));
    await user.keyboard('{Enter}');
    expect(koe.session.signIn).toHaveBeenLastCalledWith({ username: 'admin-1', password: 'Correct-Horse-1!', recoveryCode: ' ABCDE FGHJK ' });
    expect((await screen.findByTestId('signin-error')).dataset.code).toBe('totp_invalid');
    expect((field as HTMLInputElement).value).toBe(' ABCDE FGHJK ');
    await user.click(screen.getByRole('button', { name: '認証アプリのコードを使う' }));
    expect(screen.getByLabelText('確認コード（6 桁）')).toBeTruthy();
  });
});

describe('password change', () => {
  const policyApi = (change: (cur: string, next: string) => Promise<{ ok: true }>) => ({
    passwordPolicy: async () => ({ policy: { ...DEFAULT_PASSWORD_POLICY, minLength: 12 }, username: 'sato-hanako' }),
    changePassword: vi.fn(change),
  });

  it('shows the org rules as you type (the gateway\'s own rule function) and only then allows saving', async () => {
    const api = policyApi(async () => ({ ok: true }));
    const user = userEvent.setup();
    mount(<PasswordChange api={api} />);
    const rules = await screen.findByTestId('password-rules');
    const met = () => [...rules.querySelectorAll('li')].filter((li) => li.dataset.met === 'true').map((li) => li.dataset.rule);
    expect(within(rules).getByText(/12 文字以上/)).toBeTruthy();
    await user.type(screen.getByLabelText('現在のパスワード'), 'Old-Password-1!');
    await user.type(screen.getByLabelText('新しいパスワード'), 'sato-hanako');
    expect(met()).not.toContain('contains_username');
    expect(met()).not.toContain('missing_upper');
    await user.clear(screen.getByLabelText('新しいパスワード'));
    await user.type(screen.getByLabelText('新しいパスワード'), 'Kawa-Nagare-77');
    expect(met()).toEqual(['too_short', 'missing_upper', 'missing_lower', 'missing_digit', 'missing_symbol', 'common_password', 'contains_username', 'too_long']);
    const submit = screen.getByTestId('password-submit') as HTMLButtonElement;
    await user.type(screen.getByLabelText('新しいパスワード（確認）'), 'Kawa-Nagare-7');
    expect(screen.getByText('確認用のパスワードが一致しません。')).toBeTruthy();
    expect(submit.disabled).toBe(true);
    await user.type(screen.getByLabelText('新しいパスワード（確認）'), '7{Enter}');
    await screen.findByTestId('password-saved');
    expect(api.changePassword).toHaveBeenCalledWith('Old-Password-1!', 'Kawa-Nagare-77');
    expect((screen.getByLabelText('新しいパスワード') as HTMLInputElement).value).toBe('');
  });

  it('shows the gateway\'s refusal in the user\'s language and keeps everything typed (ja: wrong current password; en: reused, lost connection)', async () => {
    let answer: () => never = () => {
      throw refusal('invalid_credentials');
    };
    const api = policyApi(async () => answer());
    const user = userEvent.setup();
    mount(<PasswordChange api={api} />);
    await screen.findByTestId('password-rules');
    await user.type(screen.getByLabelText('現在のパスワード'), 'Wrong-Current-1!');
    await user.type(screen.getByLabelText('新しいパスワード'), 'Kawa-Nagare-77');
    await user.type(screen.getByLabelText('新しいパスワード（確認）'), 'Kawa-Nagare-77{Enter}');
    expect((await screen.findByTestId('password-error')).textContent).toContain('現在のパスワードが正しくありません。');
    for (const [label, value] of [['現在のパスワード', 'Wrong-Current-1!'], ['新しいパスワード', 'Kawa-Nagare-77'], ['新しいパスワード（確認）', 'Kawa-Nagare-77']]) {
      expect((screen.getByLabelText(label!) as HTMLInputElement).value).toBe(value);
    }
    cleanup();

    answer = () => {
      throw refusal('password_policy', ['reused']);
    };
    mount(<PasswordChange api={api} />, 'en');
    await screen.findByTestId('password-rules');
    await user.type(screen.getByLabelText('Current password'), 'Old-Password-1!');
    await user.type(screen.getByLabelText('New password'), 'Kawa-Nagare-77');
    await user.type(screen.getByLabelText('New password (again)'), 'Kawa-Nagare-77{Enter}');
    const error = await screen.findByTestId('password-error');
    expect(error.textContent).toContain('The new password does not meet the password rules.');
    expect(error.textContent).toContain('Not a recently used password');
    answer = () => {
      throw new GatewayCallError('unreachable', 'no answer');
    };
    await user.click(screen.getByTestId('password-submit'));
    await waitFor(() => expect(screen.getByTestId('password-error').textContent).toContain('What you entered is kept'));
    expect((screen.getByLabelText('New password') as HTMLInputElement).value).toBe('Kawa-Nagare-77');
  });
});

describe('a temporary password (an admin reset it): the password change shown alone until it is changed', () => {
  const policyApi = (change: (cur: string, next: string) => Promise<{ ok: true }>) => ({
    passwordPolicy: async () => ({ policy: { ...DEFAULT_PASSWORD_POLICY, minLength: 12 }, username: 'sato-hanako' }),
    changePassword: vi.fn(change),
  });

  it('no workspace runs for a session that must change its password (nor for one that must enrol TOTP)', () => {
    expect(workspaceUserId(signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: true }))).toBeNull();
    expect(workspaceUserId(signedIn({ totpEnrolmentRequired: true, passwordChangeRequired: false }))).toBeNull();
    expect(workspaceUserId(signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: false }))).toBe('u1');
  });

  it('explains why, takes the change with the keyboard alone, shows a refusal in Japanese keeping what was typed, then re-reads the session', async () => {
    let answer: () => Promise<{ ok: true }> = async () => {
      throw refusal('password_policy', ['reused']);
    };
    const koe = fakeKoe({ reload: () => ok(signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: false })) });
    useSessionStore.setState({ session: signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: true }) });
    const api = policyApi(() => answer());
    const user = userEvent.setup();
    mount(<PasswordChangeScreen api={api} />);
    await screen.findByTestId('password-rules');
    // the heading takes the focus: a screen reader hears why the app shows only this
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'パスワードの変更が必要です' }));
    expect(screen.getByText(/管理者がパスワードをリセットしました/)).toBeTruthy();
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText('現在のパスワード'));
    await user.keyboard('Temporary-Pass-1!');
    await user.tab();
    await user.keyboard('Temporary-Pass-1!');
    await user.tab();
    expect(document.activeElement).toBe(screen.getByLabelText('新しいパスワード（確認）'));
    await user.keyboard('Temporary-Pass-1!{Enter}');
    const error = await screen.findByTestId('password-error');
    expect(error.textContent).toContain('新しいパスワードがパスワードの条件を満たしていません。');
    expect(koe.session.reload).not.toHaveBeenCalled();
    expect((screen.getByLabelText('現在のパスワード') as HTMLInputElement).value).toBe('Temporary-Pass-1!');

    answer = async () => ({ ok: true });
    await user.clear(screen.getByLabelText('新しいパスワード'));
    await user.type(screen.getByLabelText('新しいパスワード'), 'Kawa-Nagare-77');
    await user.clear(screen.getByLabelText('新しいパスワード（確認）'));
    await user.type(screen.getByLabelText('新しいパスワード（確認）'), 'Kawa-Nagare-77{Enter}');
    await waitFor(() => expect(koe.session.reload).toHaveBeenCalledTimes(1));
    expect(api.changePassword).toHaveBeenLastCalledWith('Temporary-Pass-1!', 'Kawa-Nagare-77');
    await waitFor(() => expect(workspaceUserId(useSessionStore.getState().session)).toBe('u1'));
    expect(screen.queryByTestId('password-change-finish-error')).toBeNull();
  });

  it('in English; when main still reports the limited session after the change, says so (sign in again works)', async () => {
    const koe = fakeKoe({ reload: () => ok(signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: true })) });
    useSessionStore.setState({ session: signedIn({ totpEnrolmentRequired: false, passwordChangeRequired: true }) });
    const user = userEvent.setup();
    mount(<PasswordChangeScreen api={policyApi(async () => ({ ok: true }))} />, 'en');
    await screen.findByTestId('password-rules');
    expect(screen.getByRole('heading', { level: 1, name: 'Change your password' })).toBeTruthy();
    await user.type(screen.getByLabelText('Current password'), 'Temporary-Pass-1!');
    await user.type(screen.getByLabelText('New password'), 'Kawa-Nagare-77');
    await user.type(screen.getByLabelText('New password (again)'), 'Kawa-Nagare-77{Enter}');
    expect((await screen.findByTestId('password-change-finish-error')).textContent).toContain('Sign out and sign in with the new password');
    expect(koe.session.reload).toHaveBeenCalledTimes(1);
    await user.click(screen.getByTestId('password-change-sign-out'));
    expect(koe.session.signOut).toHaveBeenCalledTimes(1);
  });
});

describe('my PCs and the new-PC notice', () => {
  const device = (over: object = {}) => ({
    id: '11111111-1111-4111-8111-111111111111', name: 'KOE-PC-1', status: 'active' as const,
    firstSeenAt: '2026-11-30T01:05:00.000Z', firstSeenIp: '10.1.2.3', lastSeenAt: '2026-11-30T03:40:00.000Z', lastSeenIp: '10.1.2.4', current: true, ...over,
  });

  it('lists the caller\'s PCs with first/last seen in Japanese date format and the addresses', async () => {
    mount(<MyDevices api={{ myDevices: async () => ({ devices: [device(), device({ id: '22222222-2222-4222-8222-222222222222', name: 'KOE-PC-OLD', status: 'reset', current: false, lastSeenAt: null, lastSeenIp: null })] }) }} />);
    const rows = await screen.findAllByTestId('my-device');
    expect(rows[0]!.textContent).toContain('KOE-PC-1');
    expect(rows[0]!.textContent).toContain('この PC');
    expect(within(rows[0]!).getByTestId('my-device-first').textContent).toBe('2026年11月30日 10:05アドレス: 10.1.2.3');
    expect(within(rows[0]!).getByTestId('my-device-last').textContent).toContain('2026年11月30日 12:40');
    expect(rows[1]!.textContent).toContain('リセット済み');
    expect(within(rows[1]!).getByTestId('my-device-last').textContent).toContain('なし');
  });

  it('shows a refusal in English and keeps the reload button usable', async () => {
    const myDevices = vi.fn(async (): Promise<{ devices: ReturnType<typeof device>[] }> => {
      throw refusal('rate_limited');
    });
    mount(<MyDevices api={{ myDevices }} />, 'en');
    expect((await screen.findByTestId('my-devices-error')).textContent).toContain('Too many attempts');
    myDevices.mockImplementationOnce(async () => ({ devices: [] }));
    await userEvent.click(screen.getByRole('button', { name: 'Reload' }));
    await screen.findByText('No PC is enrolled.');
  });

  it('renders nothing (and renders once) when the gateway announced no new PC', async () => {
    useSessionStore.setState({ session: signedIn({ totpEnrolmentRequired: false }) });
    mount(<NewPcNotice />);
    expect(screen.queryByTestId('new-device-notice')).toBeNull();
  });

  it('tells the user at sign-in about a PC enrolled since they were last told: date in Japanese, address; dismissed with the keyboard', async () => {
    useSessionStore.setState({ session: signedIn({ totpEnrolmentRequired: false, newDevices: [{ id: 'd1', name: 'KOE-PC-9', enrolledAt: '2026-11-29T23:30:00.000Z', sourceIp: '203.0.113.5' }] }) });
    const user = userEvent.setup();
    mount(<NewPcNotice />);
    expect(screen.getByTestId('new-device').textContent).toBe('2026年11月30日 08:30 に 203.0.113.5 から新しい PC（KOE-PC-9）が登録されました。');
    await user.tab();
    await user.keyboard('{Enter}');
    expect(screen.queryByTestId('new-device-notice')).toBeNull();
    cleanup();
    mount(<NewPcNotice />, 'en');
    expect(screen.getByTestId('new-device').textContent).toBe('A new PC (KOE-PC-9) was enrolled on 30 November 2026 at 08:30 from 203.0.113.5.');
  });
});
