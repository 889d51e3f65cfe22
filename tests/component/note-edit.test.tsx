// Editing a saved note (issue 18 item 5), as the operator sees it: "Edit" while the org's policy
// allows it (how many minutes are left), disabled with the reason otherwise (closed, time
// passed), nothing on someone else's note; the text edited in place, redacted as typed, saved
// with Ctrl+Enter or the button, cancelled with Esc, focus back on "Edit"; a refused edit keeps
// what was typed and says why (time passed, closed, changed elsewhere with the current text
// shown, out of reach, offline: edits are not queued). Japanese and English. The gateway is the
// stubbed fetch; the last test goes through the shell: a note saved by main's outbox, then edited.
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NoteText, type NoteTextData } from '../../renderer/src/features/customer/NoteEdit';
import { storedOf } from '../../renderer/src/features/customer/note-edit-api';
import { initialCustomerState, useCustomerStore } from '../../renderer/src/features/customer/store';
import { useSessionStore } from '../../renderer/src/app/session-store';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { createI18n } from '../../renderer/src/i18n';
import { formatDateTime } from '../../renderer/src/i18n/format';
import type { NoteView } from '../../shared/gateway/crm';
import type { SessionState } from '../../shared/ipc/contract';
import { fakeKoe } from './phone-fakes';
import { knownCustomerPop, mountShell, resetShellStores, unmountShell } from './shell-harness';

const ME = '77777777-7777-4777-8777-777777777777';
const COLLEAGUE = '88888888-8888-4888-8888-888888888888';
const NOTE_ID = '99999999-9999-4999-8999-999999999999';
const CAMPAIGN = '11111111-1111-4111-8111-111111111111';
const CUSTOMER = '22222222-2222-4222-8222-222222222222';
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

function view(over: Partial<NoteView> = {}): NoteView {
  const createdAt = over.createdAt ?? minutesAgo(10);
  return {
    id: NOTE_ID, clientNoteId: '66666666-6666-4666-8666-666666666666', campaignId: CAMPAIGN, customerId: CUSTOMER, callId: 'c1@test',
    authorId: ME, authorName: '佐藤 花子', body: '折り返し希望 午後3時以降', open: true, version: 1, editedAt: null, createdAt, updatedAt: createdAt, ...over,
  };
}

type Answer = { status: number; body: unknown } | 'offline';
const err = (status: number, code: string) => ({ status, body: { error: { code, message: code } } });
let answers: Answer[] = [];
let current: NoteView = view();
const requests: { method: string; path: string; body: any }[] = [];

beforeEach(() => {
  resetShellStores();
  requests.length = 0;
  answers = [];
  current = view();
  useCustomerStore.setState({ ...initialCustomerState, notePolicy: { editWindowMinutes: 30, closedNotesEditable: false }, notePolicyStatus: 'ready' });
  vi.stubGlobal('fetch', async (url: string, init: { method?: string; body?: string } = {}) => {
    const path = new URL(url).pathname;
    requests.push({ method: init.method ?? 'GET', path, body: init.body ? JSON.parse(init.body) : undefined });
    if (path === `/notes/${NOTE_ID}/edits`) return { ok: true, status: 200, json: async () => ({ note: current, edits: [] }) };
    if (path === '/me/note-policy') return { ok: true, status: 200, json: async () => ({ editWindowMinutes: 30, closedNotesEditable: false }) };
    if (path === `/notes/${NOTE_ID}/body`) {
      const a = answers.shift() ?? { status: 200, body: null };
      if (a === 'offline') throw new TypeError('Failed to fetch');
      const body = a.body ?? { ...current, body: JSON.parse(init.body!).body, version: current.version + 1, editedAt: new Date().toISOString() };
      if (a.status === 200) current = body as NoteView;
      return { ok: a.status < 400, status: a.status, json: async () => body };
    }
    return { ok: false, status: 503, json: async () => ({ error: { code: 'unavailable', message: 'down' } }) };
  });
});
afterEach(() => {
  cleanup();
  unmountShell();
  vi.unstubAllGlobals();
});

/** The note as a list shows it, updated by what the editor reports (as the notes panel and the card do). */
function Harness({ initial }: { initial: NoteView }) {
  const [note, setNote] = useState<NoteTextData>({ ...storedOf(initial), body: initial.body });
  return (
    <ul>
      <li data-testid="item">
        <NoteText note={note} onChanged={(v) => setNote({ ...storedOf(v), body: v.body })} />
      </li>
    </ul>
  );
}

function show(note: NoteView, language: 'ja' | 'en' = 'ja', me = ME) {
  const koe = fakeKoe({ userId: me, language });
  Object.defineProperty(window, 'koe', { value: koe.api, configurable: true });
  const session: SessionState = {
    status: 'signed-in', user: { id: me, username: 'op-1', displayName: '佐藤 花子', role: 'operator', permissions: ['notes:write'] }, device: null,
    totpEnrolmentRequired: false, passwordChangeRequired: false, absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
  useSessionStore.setState({ session });
  current = note;
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <Harness initial={note} />
    </I18nextProvider>,
  );
}

const edits = () => requests.filter((r) => r.path === `/notes/${NOTE_ID}/body`);

describe('editing a saved note', () => {
  it('ja: "編集" with the minutes left; edited in place, Ctrl+Enter saves, focus back on 編集, the edit time in Japanese', async () => {
    show(view());
    const edit = screen.getByTestId('note-edit') as HTMLButtonElement;
    expect(edit.textContent).toBe('編集');
    expect(edit.disabled).toBe(false);
    expect(screen.getByTestId('note-edit-hint').textContent).toBe('あと 20 分編集できます');
    expect(edit.getAttribute('aria-describedby')).toBe(screen.getByTestId('note-edit-hint').id);
    const user = userEvent.setup();
    await user.click(edit);
    const area = screen.getByTestId('note-edit-text') as HTMLTextAreaElement;
    expect(document.activeElement).toBe(area);
    expect(area.value).toBe('折り返し希望 午後3時以降');
    expect(screen.getByLabelText('メモを編集')).toBe(area);
    expect(screen.getByText('Ctrl+Enter で保存、Esc でキャンセル')).toBeTruthy();
    // unchanged: nothing to save
    expect((screen.getByTestId('note-edit-save') as HTMLButtonElement).disabled).toBe(true);
    await user.type(area, '（17時まで）');
    await user.keyboard('{Control>}{Enter}{/Control}');
    await waitFor(() => expect(screen.queryByTestId('note-editor')).toBeNull());
    expect(edits()).toEqual([{ method: 'PUT', path: `/notes/${NOTE_ID}/body`, body: { body: '折り返し希望 午後3時以降（17時まで）', version: 1 } }]);
    expect(screen.getByTestId('note-body').textContent).toBe('折り返し希望 午後3時以降（17時まで）');
    expect(screen.getByTestId('note-edit-saved').textContent).toContain('変更を保存しました');
    expect(screen.getByTestId('note-edited').textContent).toBe(`${formatDateTime(current.editedAt!, 'ja')} 編集`);
    expect(screen.getByTestId('note-edited').textContent).toMatch(/^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} 編集$/);
    expect(document.activeElement).toBe(screen.getByTestId('note-edit'));
    // the next edit goes from the new version
    await user.click(screen.getByTestId('note-edit'));
    await user.type(screen.getByTestId('note-edit-text'), '!');
    await user.click(screen.getByTestId('note-edit-save'));
    await waitFor(() => expect(edits()).toHaveLength(2));
    expect(edits()[1]!.body.version).toBe(2);
  });

  it('en, keyboard only: Tab to Edit, Enter opens, Esc cancels without sending, focus back on Edit', async () => {
    show(view({ createdAt: minutesAgo(25) }), 'en');
    expect(screen.getByTestId('note-edit-hint').textContent).toBe('Editable for 5 more min');
    const user = userEvent.setup();
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('note-edit'));
    await user.keyboard('{Enter}');
    const area = screen.getByTestId('note-edit-text') as HTMLTextAreaElement;
    expect(document.activeElement).toBe(area);
    expect(screen.getByLabelText('Edit the note')).toBe(area);
    await user.type(area, ' discarded');
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('note-editor')).toBeNull();
    expect(screen.getByTestId('note-body').textContent).toBe('折り返し希望 午後3時以降');
    expect(document.activeElement).toBe(screen.getByTestId('note-edit'));
    expect(edits()).toEqual([]);
    // and Save / Cancel by keyboard
    await user.keyboard('{Enter}');
    await user.type(screen.getByTestId('note-edit-text'), ' (after 5pm)');
    await user.tab();
    expect(document.activeElement).toBe(screen.getByTestId('note-edit-save'));
    expect(screen.getByTestId('note-edit-save').textContent).toBe('Save changes');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(screen.getByTestId('note-body').textContent).toBe('折り返し希望 午後3時以降 (after 5pm)'));
    expect(screen.getByTestId('note-edited').textContent).toMatch(/^Edited \d{1,2} [A-Z][a-z]+ \d{4} at \d{2}:\d{2}$/);
  });

  it.each([
    ['ja', { open: false }, '完了済みのメモは編集できません', 'closed'],
    ['en', { open: false }, 'Closed notes cannot be edited', 'closed'],
    ['ja', { createdAt: minutesAgo(31) }, '編集できる時間を過ぎました', 'expired'],
    ['en', { createdAt: minutesAgo(30) }, 'The time to edit this note has passed', 'expired'],
  ] as const)('%s: not editable (%j): "Edit" disabled, the reason given', (language, over, reason, code) => {
    show(view(over), language);
    const edit = screen.getByTestId('note-edit') as HTMLButtonElement;
    expect(edit.disabled).toBe(true);
    const hint = screen.getByTestId('note-edit-hint');
    expect(hint.textContent).toBe(reason);
    expect(hint.dataset.reason).toBe(code);
    expect(edit.getAttribute('aria-describedby')).toBe(hint.id);
  });

  it('a closed note is editable when the org allows it; nothing is offered on a colleague\'s note, nor when the org allows no edits', () => {
    useCustomerStore.setState({ notePolicy: { editWindowMinutes: 30, closedNotesEditable: true } });
    show(view({ open: false }));
    expect((screen.getByTestId('note-edit') as HTMLButtonElement).disabled).toBe(false);
    cleanup();
    show(view({ authorId: COLLEAGUE }));
    expect(screen.getByTestId('note-body').textContent).toBe('折り返し希望 午後3時以降');
    expect(screen.queryByTestId('note-edit')).toBeNull();
    cleanup();
    useCustomerStore.setState({ notePolicy: { editWindowMinutes: 0, closedNotesEditable: false } });
    show(view());
    expect(screen.queryByTestId('note-edit')).toBeNull();
  });

  it('reads the org\'s policy the first time one of the operator\'s notes is shown', async () => {
    useCustomerStore.setState({ notePolicy: null, notePolicyStatus: 'idle' });
    show(view());
    await waitFor(() => expect(screen.getByTestId('note-edit-hint').textContent).toBe('あと 20 分編集できます'));
    expect(requests.filter((r) => r.path === '/me/note-policy')).toHaveLength(1);
  });

  it.each([
    ['ja', 'expired', err(409, 'edit_window_expired'), '編集できる時間を過ぎています'],
    ['en', 'expired', err(409, 'edit_window_expired'), 'the time to edit this note has passed'],
    ['ja', 'closed', err(409, 'note_closed'), '完了済みのため編集できません'],
    ['en', 'closed', err(409, 'note_closed'), 'closed notes cannot be edited'],
    ['ja', 'not_found', err(404, 'not_found'), '表示できなくなりました'],
    ['en', 'not_found', err(404, 'not_found'), 'no longer available to you'],
    ['ja', 'offline', 'offline', 'ゲートウェイに接続できません。編集は送信待ちにしません'],
    ['en', 'offline', 'offline', 'Edits are not queued'],
  ] as const)('%s: a refused edit (%s) keeps the typed text and says why', async (language, code, answer, says) => {
    show(view(), language);
    answers = [answer as Answer];
    const user = userEvent.setup();
    await user.click(screen.getByTestId('note-edit'));
    const area = screen.getByTestId('note-edit-text') as HTMLTextAreaElement;
    await user.clear(area);
    await user.type(area, '明日10時に再度連絡');
    await user.click(screen.getByTestId('note-edit-save'));
    const alert = await screen.findByTestId('note-edit-error');
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.dataset.code).toBe(code);
    expect(alert.textContent).toContain(says);
    // still editing, with what was typed; the textarea is described by the message
    expect((screen.getByTestId('note-edit-text') as HTMLTextAreaElement).value).toBe('明日10時に再度連絡');
    expect(area.getAttribute('aria-invalid')).toBe('true');
    expect(area.getAttribute('aria-describedby')).toContain(alert.id);
    expect((screen.getByTestId('note-edit-save') as HTMLButtonElement).disabled).toBe(false);
  });

  it('changed elsewhere (409 conflict): the current text is shown, the typed text kept, a second save replaces it knowingly', async () => {
    show(view());
    // another window of the same operator saved version 2 meanwhile
    current = { ...view(), body: '折り返し希望 午前中', version: 2, editedAt: new Date().toISOString() };
    answers = [err(409, 'conflict')];
    const user = userEvent.setup();
    await user.click(screen.getByTestId('note-edit'));
    const area = screen.getByTestId('note-edit-text') as HTMLTextAreaElement;
    await user.clear(area);
    await user.type(area, '折り返し希望 夕方');
    await user.click(screen.getByTestId('note-edit-save'));
    const alert = await screen.findByTestId('note-edit-error');
    expect(alert.dataset.code).toBe('conflict');
    await waitFor(() => expect(screen.getByTestId('note-edit-current').textContent).toContain('現在の内容：「折り返し希望 午前中」'));
    expect(area.value).toBe('折り返し希望 夕方');
    await user.click(screen.getByTestId('note-edit-save'));
    await waitFor(() => expect(screen.queryByTestId('note-editor')).toBeNull());
    expect(edits().map((r) => r.body)).toEqual([{ body: '折り返し希望 夕方', version: 1 }, { body: '折り返し希望 夕方', version: 2 }]);
    expect(screen.getByTestId('note-body').textContent).toBe('折り返し希望 夕方');
  });

  it('a card number typed into the editor is masked as typed and never sent', async () => {
    show(view());
    const user = userEvent.setup();
    await user.click(screen.getByTestId('note-edit'));
    const area = screen.getByTestId('note-edit-text') as HTMLTextAreaElement;
    await user.clear(area);
    await user.type(area, 'カード 4111 1111 1111 1111 で決済');
    expect(area.value).toBe('カード **** **** **** 1111 で決済');
    expect(screen.getByTestId('note-edit-masked').textContent).toBe('カード番号を伏せ字にしました（下4桁のみ残します）');
    await user.keyboard('{Control>}{Enter}{/Control}');
    await waitFor(() => expect(edits()).toHaveLength(1));
    expect(JSON.stringify(edits())).not.toMatch(/4111 1111/);
  });
});

describe('editing through the notes panel and the customer card', () => {
  it('a note saved by the outbox offers "Edit"; the edit replaces its text in the panel', async () => {
    const pop = {
      ...knownCustomerPop(CAMPAIGN, CUSTOMER, ['解決']),
      openNotes: [
        view({ id: '12121212-1212-4121-8121-121212121212', body: '前回のメモ', authorId: COLLEAGUE }),
        view({ id: '13131313-1313-4131-8131-131313131313', body: '自分の前回のメモ', createdAt: minutesAgo(45) }),
      ],
    };
    let saved: NoteView | null = null;
    vi.stubGlobal('fetch', async (url: string, init: { method?: string; body?: string } = {}) => {
      const path = new URL(url).pathname;
      const body = init.body ? JSON.parse(init.body) : undefined;
      requests.push({ method: init.method ?? 'GET', path, body });
      const json = (status: number, b: unknown) => ({ ok: status < 400, status, json: async () => b });
      if (path === '/screen-pop') return json(200, pop);
      if (path === '/me/note-policy') return json(200, { editWindowMinutes: 30, closedNotesEditable: false });
      if (path === '/notes') {
        saved = view({ clientNoteId: body.clientNoteId, body: body.body, createdAt: new Date().toISOString() });
        return json(200, saved);
      }
      if (path === `/notes/${NOTE_ID}/body`) {
        saved = { ...saved!, body: body.body, version: saved!.version + 1, editedAt: new Date().toISOString() };
        return json(200, saved);
      }
      if (path.startsWith('/calls/')) return json(200, {});
      return json(503, { error: { code: 'unavailable', message: 'down' } });
    });
    useCustomerStore.setState({ notePolicy: null, notePolicyStatus: 'idle' });
    const koe = fakeKoe({ userId: ME });
    const phone = await mountShell(koe.api, koe.gw);
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    act(() => void phone.ring());
    const user = userEvent.setup();
    await user.click(await screen.findByTestId('answer'));
    // a colleague's open note on the card: shown, not editable; the operator's own, past the window: why not
    const [theirs, mine] = await screen.findAllByTestId('customer-note');
    expect(theirs!.textContent).toContain('前回のメモ');
    expect(within(theirs!).queryByTestId('note-edit')).toBeNull();
    await waitFor(() => expect(within(mine!).getByTestId('note-edit-hint').textContent).toBe('編集できる時間を過ぎました'));
    expect((within(mine!).getByTestId('note-edit') as HTMLButtonElement).disabled).toBe(true);
    await user.type(screen.getByTestId('note-text'), '住所変更の書類を郵送');
    await user.click(screen.getByTestId('note-save'));
    const item = await screen.findByTestId('note-item');
    await waitFor(() => expect(item.dataset.status).toBe('saved'), { timeout: 5000 });
    const edit = await within(item).findByTestId('note-edit');
    expect(within(item).getByTestId('note-edit-hint').textContent).toBe('あと 30 分編集できます');
    await user.click(edit);
    await user.type(within(item).getByTestId('note-edit-text'), '（簡易書留）');
    await user.keyboard('{Control>}{Enter}{/Control}');
    await waitFor(() => expect(within(item).getByTestId('note-body').textContent).toBe('住所変更の書類を郵送（簡易書留）'));
    expect(useCustomerStore.getState().notes.map((n) => [n.body, n.stored?.version])).toEqual([['住所変更の書類を郵送（簡易書留）', 2]]);
    expect(requests.filter((r) => r.path === `/notes/${NOTE_ID}/body`).map((r) => r.body)).toEqual([{ body: '住所変更の書類を郵送（簡易書留）', version: 1 }]);
  }, 20_000);
});
