// Customer data ends with its session: sign-out, expiry, an admin's revoke (as main reports
// them) and another user signing in on the same PC all clear every renderer store and holder
// (app/user-data.ts), and the DOM holds none of the previous user's customer data.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useSupervisionStore } from '../../renderer/src/features/supervision/store';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { useAppStore } from '../../renderer/src/app/app-store';
import { useCustomerStore } from '../../renderer/src/features/customer/store';
import { usePhoneStore } from '../../renderer/src/features/phone/phone-store';
import { useSessionStore } from '../../renderer/src/app/session-store';
import { resetUserData, userDataHolders, userStoreRegistration } from '../../renderer/src/app/user-data';
import type { ScreenPopResponse } from '../../shared/gateway/crm';
import type { BoardState, SessionState } from '../../shared/ipc/contract';
import { fakeKoe, type FakePhone } from './phone-fakes';
import { customerRecords, mountShell, unmountShell } from './shell-harness';

const ROOT = path.resolve(__dirname, '../..');
const RENDERER = path.join(ROOT, 'renderer/src');

const CAMPAIGN_A = '11111111-1111-4111-8111-111111111111';
const CUSTOMER_A = '22222222-2222-4222-8222-222222222222';
const USER_A = '33333333-3333-4333-8333-333333333333';
const T = '2026-01-01T00:00:00.000Z';

/** User A's customer: every string that must not survive A's session. */
const A = {
  campaign: '東京ガス相談窓口A',
  name: '山田 太郎',
  kana: 'ヤマダ タロウ',
  phone: '+819012345678',
  email: 'taro.yamada@example.jp',
  address: '東京都港区芝公園4-2-8',
  member: 'M-0007741',
  history: '解約を検討',
  openNote: '前回の請求について再確認',
  typedNote: '住所変更の手続きを案内',
  draft: '折り返しは夕方希望',
  disposition: '解決',
  boardCustomer: '佐々木 一郎',
  boardCampaign: '北海道電力窓口',
  boardOperator: '高橋 美咲',
};
const SECRETS = Object.values(A);

const knownPop: ScreenPopResponse = {
  status: 'known',
  blocked: false,
  campaign: { id: CAMPAIGN_A, name: A.campaign, dispositions: [A.disposition, '折り返し'], openNow: true },
  customers: [
    {
      id: CUSTOMER_A,
      campaignId: CAMPAIGN_A,
      nameKanji: A.name,
      nameKana: A.kana,
      phones: [A.phone],
      email: A.email,
      fields: { 住所: A.address, 会員番号: A.member },
      createdAt: T,
      updatedAt: T,
    },
  ],
  recentCalls: [
    {
      id: '44444444-4444-4444-8444-444444444444',
      callId: 'old-1@test',
      campaignId: CAMPAIGN_A,
      customerId: CUSTOMER_A,
      operatorId: USER_A,
      callerNumber: A.phone,
      dialledNumber: '+81312345678',
      blocked: false,
      status: 'ended',
      ringingAt: T,
      answeredAt: T,
      endedAt: T,
      disposition: A.history,
      wrapUpSeconds: 30,
      updatedAt: T,
    },
  ],
  openNotes: [
    {
      id: '55555555-5555-4555-8555-555555555555',
      clientNoteId: '66666666-6666-4666-8666-666666666666',
      campaignId: CAMPAIGN_A,
      customerId: CUSTOMER_A,
      callId: 'old-1@test',
      authorId: USER_A,
      authorName: '佐藤 花子',
      body: A.openNote,
      open: true,
      version: 1,
      editedAt: null,
      createdAt: T,
      updatedAt: T,
    },
  ],
};

const board: BoardState = {
  operators: [
    {
      userId: '77777777-7777-4777-8777-777777777777',
      username: 'op-9',
      displayName: A.boardOperator,
      teamIds: [],
      state: 'on_call',
      reason: null,
      since: T,
      registration: 'registered',
      call: { callId: 'board-1@test', campaignId: null, campaignName: A.boardCampaign, direction: 'inbound', status: 'answered', since: T, customerName: A.boardCustomer },
    },
  ],
  updatedAt: 1,
};

const userA = { id: USER_A, username: 'lead-a', displayName: '佐藤 花子', role: 'team_lead', permissions: ['calls:handle', 'team:supervise'] };
const sessionOf = (user: typeof userA): SessionState => ({
  status: 'signed-in',
  user,
  device: null,
  totpEnrolmentRequired: false,
  passwordChangeRequired: false,
  absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
});
const userB = { id: '88888888-8888-4888-8888-888888888888', username: 'op-b', displayName: '鈴木 次郎', role: 'operator', permissions: ['calls:handle'] };

/** Screen pop answers at once unless the test holds it; everything else is refused with 503 (queues stay full). */
let holdPop: Promise<void> | null = null;
/** What the screen pop answers: A's customer, or (for B's calls) nobody known. */
let popAnswer: ScreenPopResponse | null = null;
const requests: string[] = [];

async function mount() {
  const koe = fakeKoe();
  const api = koe.api as unknown as { session: { state: () => Promise<unknown>; signIn: () => Promise<unknown> } };
  api.session.state = async () => ({ ok: true, value: sessionOf(userA) });
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  await screen.findByTestId('lead-board');
  return { phone, koe };
}

/** Everything user A's session can put in the renderer: card, history, notes (saved, queued, draft), wrap-up, board, supervision. */
async function populate(phone: FakePhone, koe: ReturnType<typeof fakeKoe>, opts: { liveCall: boolean }) {
  act(() => void phone.ring({ campaignId: CAMPAIGN_A }));
  await userEvent.click(await screen.findByTestId('answer'));
  await screen.findByTestId('customer-card');
  await userEvent.type(screen.getByTestId('note-text'), A.typedNote);
  await userEvent.click(screen.getByTestId('note-save'));
  await screen.findByTestId('note-item');
  if (!opts.liveCall) {
    await userEvent.click(screen.getByTestId('hangup'));
    await screen.findByTestId('wrapup');
    await userEvent.selectOptions(screen.getByTestId('disposition'), A.disposition);
  }
  await userEvent.type(screen.getByTestId('note-text'), A.draft);
  act(() => koe.emit('board:changed', board));
  act(() => {
    useSupervisionStore.setState({
      lead: { supervisionId: 'sup-1', callId: 'board-1@test', operatorId: board.operators[0]!.userId, mode: 'monitor', status: 'listening', error: null, operatorConnected: true },
      coaching: { legId: 'leg-1', mode: 'whisper' },
    });
    useAppStore.setState({ error: { code: 'internal', message: 'x' } });
  });
  await screen.findByTestId('board-customer');
  // The data is really there before the session ends (else the assertions below prove nothing).
  const html = document.body.innerHTML;
  for (const s of SECRETS.filter((x) => x !== A.disposition || !opts.liveCall)) expect(html + (screen.getByTestId('note-text') as HTMLTextAreaElement).value).toContain(s);
  expect(customerRecords().pendingCounts().notes).toBe(1);
  expect(useCustomerStore.getState().notes).toHaveLength(1);
  expect(usePhoneStore.getState().calls.length).toBeGreaterThan(0);
}

type Snapshot = Record<string, Record<string, unknown>>;

/** Every store's user data (the keys it registered), as it is now. */
function snapshot(stores: StoreModuleExport[]): Snapshot {
  const out: Snapshot = {};
  for (const { name, store } of stores) {
    const state = store.getState() as Record<string, unknown>;
    out[name] = Object.fromEntries(Object.keys(userStoreRegistration(store)!.initial).map((k) => [k, state[k]]));
  }
  return out;
}

/** Records the stores as they are the moment the session store takes the new session (before any view reloads). */
function snapshotAtSessionChange(stores: StoreModuleExport[]): { taken: Snapshot | null } {
  const box: { taken: Snapshot | null } = { taken: null };
  const off = useSessionStore.subscribe((s, prev) => {
    if (s.session !== prev.session && !box.taken) {
      box.taken = snapshot(stores);
      off();
    }
  });
  return box;
}

/** Every store made by userStore(): its user data equals the registered initial values (keys listed in `reloaded` skipped). */
function expectStoresCleared(stores: StoreModuleExport[], snap: Snapshot, reloaded: string[] = []) {
  for (const { name, store } of stores) {
    const initial = userStoreRegistration(store)!.initial;
    for (const [key, value] of Object.entries(initial)) {
      if (reloaded.includes(`${name}.${key}`)) continue;
      expect(snap[name]![key], `${name}.${key}`).toEqual(value);
    }
  }
}

function expectDomClean() {
  const html = document.body.innerHTML;
  const text = document.body.textContent ?? '';
  const fields = [...document.querySelectorAll('textarea, input')].map((e) => (e as HTMLInputElement).value).join('\n');
  for (const s of SECRETS) {
    expect(html, `innerHTML holds "${s}"`).not.toContain(s);
    expect(text).not.toContain(s);
    expect(fields).not.toContain(s);
  }
}

type StoreModuleExport = { name: string; store: { getState(): unknown; setState(p: unknown): void; subscribe(l: () => void): () => void } };

/** Every source file of the renderer. */
function rendererFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const full = path.join(dir, f);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.tsx?$/.test(f)) files.push(full);
    }
  };
  walk(RENDERER);
  return files;
}

/** The zustand stores the renderer exports: every `store.ts` or `<name>-store.ts`, in whichever folder (a feature's or app/). */
async function enumerateStores(): Promise<StoreModuleExport[]> {
  const files = rendererFiles().filter((f) => /(^|[/\\-])store\.tsx?$/.test(f));
  const found: StoreModuleExport[] = [];
  for (const file of files) {
    const mod = (await import(file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      const v = value as unknown as Record<string, unknown>;
      if (typeof v.getState === 'function' && typeof v.setState === 'function' && typeof v.subscribe === 'function') {
        found.push({ name: `${path.relative(RENDERER, file)}:${name}`, store: value as unknown as StoreModuleExport['store'] });
      }
    }
  }
  return found;
}

let stores: StoreModuleExport[] = [];

beforeEach(async () => {
  stores = await enumerateStores();
  resetUserData();
  useAppStore.setState({ info: null, policy: null, lock: { locked: false, reason: null, since: null }, gateway: null, error: null });
  useSessionStore.setState({ session: { status: 'signed-out', reason: null } });
  requests.length = 0;
  holdPop = null;
  popAnswer = null;
  vi.stubGlobal('fetch', async (url: string, init: { method?: string } = {}) => {
    const p = new URL(url).pathname;
    requests.push(`${init.method ?? 'GET'} ${p}`);
    if (p === '/screen-pop') {
      if (holdPop) await holdPop;
      return { ok: true, status: 200, json: async () => popAnswer ?? knownPop };
    }
    // the next user's campaigns for outbound calls (an operator reads them at sign-in): none here
    if (p === '/campaigns') return { ok: true, status: 200, json: async () => ({ campaigns: [] }) };
    return { ok: false, status: 503, json: async () => ({ error: { code: 'unavailable', message: 'down' } }) };
  });
});
afterEach(async () => {
  unmountShell();
  resetUserData();
  vi.unstubAllGlobals();
});

describe('the registry of user data (app/user-data.ts)', () => {
  it('holds every zustand store the renderer exports, wherever its feature keeps it', async () => {
    expect(stores.map((s) => s.name).sort()).toEqual(
      expect.arrayContaining([
        'features/phone/agent-store.ts:useAgentStore',
        'app/app-store.ts:useAppStore',
        'features/customer/store.ts:useCustomerStore',
        'features/phone/phone-store.ts:usePhoneStore',
        'app/session-store.ts:useSessionStore',
        'features/supervision/store.ts:useSupervisionStore',
      ]),
    );
    const unregistered = stores.filter((s) => userStoreRegistration(s.store) === null).map((s) => s.name);
    expect(unregistered, 'made with create() instead of userStore(): its data would outlive the session').toEqual([]);
  });

  it('has userStore() as the only way to make a store: no other module imports zustand', () => {
    const importers = rendererFiles()
      .filter((f) => /from ['"]zustand(\/[^'"]*)?['"]/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(RENDERER, f));
    expect(importers).toEqual(['app/user-data.ts']);
  });

  it('has no module-level cache, queue or service state in the renderer', () => {
    // State lives in objects the component tree owns (the telephony object, the supervision
    // clients), which register a reset with holdsUserData() while mounted, or in a userStore.
    // A top-level `let`, or a Map/Set/queue made at load, is listed here with why it may stay
    // (a constant set is typed ReadonlySet/ReadonlyMap).
    const MODULE_STATE_ALLOWED: Record<string, string> = {
      'app/user-data.ts': 'the registry itself (of the module-level zustand stores)',
      'log.ts': "the failure sink (log.ts's API, wired to main's log by its own issue)",
    };
    const stateful = /^(export )?(let|var) |^(export )?const \w+(: (?!Readonly)[^=]+)? = (new (Map|Set|WeakMap|RetryQueue|Array|\w+(Service|Queue|Supervision)\b)\b|\[\])/m;
    const found = rendererFiles()
      .map((f) => ({ rel: path.relative(RENDERER, f), src: readFileSync(f, 'utf8') }))
      .filter(({ rel, src }) => stateful.test(src) && !MODULE_STATE_ALLOWED[rel])
      .map(({ rel }) => rel);
    expect(found).toEqual([]);
  });

  it("registers the telephony object's call state while the shell is mounted, and detaches it at unmount", async () => {
    expect(userDataHolders()).not.toContain('phone-service');
    await mount();
    expect(userDataHolders()).toEqual(expect.arrayContaining(['crm-queues', 'phone-service', 'operator-supervision', 'lead-supervision']));
    unmountShell();
    expect(userDataHolders()).not.toContain('phone-service');
    expect(userDataHolders()).not.toContain('operator-supervision');
  });
});

/** What the next user's session loads again from main once it starts (not the previous user's data). */
const RELOADED_BY_NEXT_USER = [
  // the next user's campaigns for outbound calls, read at their sign-in (none here)
  'features/phone/phone-store.ts:usePhoneStore.outboundCampaigns',
  'features/phone/agent-store.ts:useAgentStore.view',
  'features/phone/agent-store.ts:useAgentStore.link',
  // the org's agent policy, read again from the gateway for the next user (here it refuses: policyFailed)
  'features/phone/agent-store.ts:useAgentStore.policy',
  'features/phone/agent-store.ts:useAgentStore.policyFailed',
  'features/phone/phone-store.ts:usePhoneStore.registration',
  'features/phone/phone-store.ts:usePhoneStore.registrationDetail',
];

const SESSION_ENDS: [string, (koe: ReturnType<typeof fakeKoe>) => Promise<void>][] = [
  [
    'sign-out (the Home screen button: the IPC answer)',
    async () => {
      await userEvent.click(screen.getByRole('button', { name: 'サインアウト' }));
      // during a call it asks first (ending the call is the operator's choice)
      const confirm = screen.queryByTestId('sign-out-end-call');
      if (confirm) await userEvent.click(confirm);
      // with unsent items (main's outbox) it says they are kept for this user, and signs out on the operator's word
      const keep = screen.queryByTestId('sign-out-keep-unsent');
      if (keep) await userEvent.click(keep);
      await waitFor(() => expect(useSessionStore.getState().session.status).toBe('signed-out'));
      await waitFor(() => expect(screen.queryByTestId('home')).toBeNull());
    },
  ],
  [
    'expiry, as main reports it (session:changed)',
    async (koe) => {
      act(() => koe.emit('session:changed', { status: 'signed-out', reason: 'expired' }));
      await screen.findByTestId('session-ended');
    },
  ],
  [
    "an admin's revoke, as main reports it (session:changed)",
    async (koe) => {
      act(() => koe.emit('session:changed', { status: 'signed-out', reason: 'revoked' }));
      await screen.findByTestId('session-ended');
    },
  ],
  [
    'another user signing in on this PC (session:changed with another user id)',
    async (koe) => {
      act(() => koe.emit('session:changed', sessionOf(userB as typeof userA)));
      await screen.findByText('鈴木 次郎');
      await waitFor(() => expect(screen.getByTestId('status-phone').dataset.registration).toBe('registered'));
    },
  ],
];

describe('customer data ends with its session', () => {
  async function endAndCheck(name: string, end: (koe: ReturnType<typeof fakeKoe>) => Promise<void>, koe: ReturnType<typeof fakeKoe>) {
    const atChange = snapshotAtSessionChange(stores);
    await end(koe);
    // at the moment the new session is taken: every store back to its initial state
    expect(atChange.taken).not.toBeNull();
    expectStoresCleared(stores, atChange.taken!);
    // and once the views have settled: still nothing of A (the next user's own reloads aside)
    expectStoresCleared(stores, snapshot(stores), name.startsWith('another user') ? RELOADED_BY_NEXT_USER : []);
    expect(customerRecords().pendingCounts()).toEqual({ notes: 0, callUpdates: 0 });
    expectDomClean();
  }

  it.each(SESSION_ENDS)('%s: every store back to its initial state, nothing of A in the DOM (after wrap-up)', async (name, end) => {
    const { phone, koe } = await mount();
    await populate(phone, koe, { liveCall: false });
    await endAndCheck(name, end, koe);
  });

  it.each(SESSION_ENDS)('%s during a live call: the call object keeps no customer data the UI can render', async (name, end) => {
    const { phone, koe } = await mount();
    await populate(phone, koe, { liveCall: true });
    await endAndCheck(name, end, koe);
    // whatever the phone layer does with the call, the renderer holds none of it
    expect(usePhoneStore.getState().calls).toEqual([]);
  });

  it('a screen pop still on its way when the session ends is dropped, and the offered call declined', async () => {
    const { phone, koe } = await mount();
    let release!: () => void;
    holdPop = new Promise<void>((r) => (release = r));
    act(() => void phone.ring({ campaignId: CAMPAIGN_A }));
    await waitFor(() => expect(requests).toContain('POST /screen-pop'));
    act(() => koe.emit('session:changed', sessionOf(userB as typeof userA)));
    await screen.findByText('鈴木 次郎');
    release();
    await waitFor(() => expect(phone.log).toContain('reject call-1 486'));
    expect(useCustomerStore.getState().pops).toEqual({});
    expect(usePhoneStore.getState().calls).toEqual([]);
    expectDomClean();
  });

  it("another user's first call starts with an empty note, not the previous user's draft", async () => {
    const { phone, koe } = await mount();
    await populate(phone, koe, { liveCall: true });
    act(() => koe.emit('session:changed', sessionOf(userB as typeof userA)));
    await screen.findByText('鈴木 次郎');
    await waitFor(() => expect(screen.getByTestId('status-phone').dataset.registration).toBe('registered'));
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    popAnswer = { status: 'unknown', blocked: false, campaign: null, customers: [], recentCalls: [], openNotes: [] };
    act(() => void phone.ring({ remote: '+819099990000' }));
    await userEvent.click(await screen.findByTestId('answer'));
    expect((screen.getByTestId('note-text') as HTMLTextAreaElement).value).toBe('');
    expect(screen.queryAllByTestId('note-item')).toEqual([]);
    expectDomClean();
  });

  it('the same user again (a session event that is no switch) keeps the data', async () => {
    const { phone, koe } = await mount();
    await populate(phone, koe, { liveCall: true });
    act(() => koe.emit('session:changed', sessionOf(userA)));
    expect(screen.getByTestId('customer-name').textContent).toBe(A.name);
    expect(customerRecords().pendingCounts().notes).toBe(1);
  });
});
