// The renderer's side of the customer records. The screen pop is a direct call to the gateway
// with the short-lived access token main hands out (the gateway's CORS allowlist names the
// app's origin). Notes and call updates are handed to main's durable outbox
// (main/outbox/outbox.ts: sealed on disk before main answers, sent in order, kept through a
// renderer crash, a restart, the lock and a sign-out): this renderer only shows what is pending.
// The hand-off itself is retried (RetryQueue) while main cannot take it. One CustomerRecords,
// made by the shell and given to the views through context (CustomerSession.tsx): no module state.
import { accessToken, gatewayClient } from '../../gateway';
import { koe } from '../../koe';
import type { OutboxEnqueue, OutboxState } from '../../../../shared/ipc/contract';
import type { NoteView, ScreenPopResponse } from '../../../../shared/gateway/crm';
import { redactCardNumbers } from '../../../../shared/rules/card-redaction';
import { useCustomerStore, type NoteItem, type PopState } from './store';
import { holdsUserData } from '../../app/user-data';
import { RetryQueue } from './retry-queue';
import { CallCards, popStateOf } from './call-cards';
import { logFailure } from '../../log';
import type { CallInfo } from '../phone/sip-phone';
import { useAgentStore } from '../phone/agent-store';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { useAppStore } from '../../app/app-store';
import { storedOf } from './note-edit-api';

const client = gatewayClient;
const token = accessToken;

export interface PopRequest {
  sipCallId: string;
  callerNumber: string;
  dialledNumber: string | null;
  campaignId: string | null;
}

/** One round trip: campaign, customers, recent calls, open notes. Null when there is nothing to show. */
export async function screenPop(req: PopRequest): Promise<ScreenPopResponse> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  return client.call('screenPop', {
    accessToken: await token(),
    body: {
      callId: req.sipCallId,
      callerNumber: req.callerNumber || 'anonymous',
      ...(req.dialledNumber ? { dialledNumber: req.dialledNumber } : {}),
      ...(req.campaignId && uuid.test(req.campaignId) ? { campaignId: req.campaignId } : {}),
    },
  });
}

/**
 * The screen pop of a call, as the card shows it. It never fails: the card is a convenience, so
 * a failed pop shows an unknown caller and the call goes on (logged by the error's name only:
 * its text may carry the number).
 */
export async function popOf(info: CallInfo): Promise<PopState> {
  try {
    return popStateOf(await screenPop({ sipCallId: info.sipCallId, callerNumber: info.remote, dialledNumber: info.dialledNumber, campaignId: info.campaignId }));
  } catch (err) {
    logFailure('the screen pop', err);
    return { status: 'unknown' };
  }
}

function updateNote(clientNoteId: string, patch: Partial<NoteItem>): void {
  useCustomerStore.setState((s) => ({ notes: s.notes.map((n) => (n.clientNoteId === clientNoteId ? { ...n, ...patch } : n)) }));
}

export type CallPatch = { sipCallId: string; body: { answeredAt?: string; endedAt?: string; disposition?: string; wrapUpSeconds?: number }; onSaved?: () => void };

/** main answered an IPC call with an error (its code is what the log keeps). */
class IpcCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpcCallError';
  }
}

/** main refused the item as such (bad payload, signed out): handing it again would not help. */
const refusedByMain = (err: unknown) => err instanceof IpcCallError && (err.code === 'invalid_payload' || err.code === 'not_allowed' || err.code === 'forbidden_sender');

/** The notes and call updates of this operator, as main's outbox holds them until the gateway confirms. */
export class CustomerRecords {
  /** The cards pushed with the ring and the pops in flight, by SIP Call-ID (call-cards.ts). */
  readonly cards = new CallCards({
    pop: popOf,
    view: () => useAgentStore.getState().view,
    liveCallIds: () => liveCalls(usePhoneStore.getState().calls).map((c) => c.sipCallId),
  });

  /** Items main has not taken yet (its answer lost, IPC down): handed again until it answers. */
  private readonly handoff = new RetryQueue<OutboxEnqueue>({
    async send(item) {
      const r = await koe().outbox.enqueue(item);
      if (!r.ok) throw new IpcCallError(r.error.code, r.error.message);
    },
    what: 'handing an item to the outbox',
    permanent: refusedByMain,
    onDropped: (item) => {
      if (item.kind === 'note') updateNote(item.id, { status: 'refused' });
      this.settled(item.id);
    },
  });

  /** What main's outbox holds (from its events): the ids pending there. */
  private mainPending: OutboxState['pending'] = [];
  /** Callbacks of call patches, by outbox id (called once the gateway confirmed or refused). */
  private readonly onSaved = new Map<string, () => void>();

  /**
   * While mounted: follows main's outbox (its state, each settled item) and, after a reload,
   * shows the notes it still holds. The session's end drops this renderer's view of them only:
   * main keeps them sealed for this user (sent at their next sign-in). Returns the detach function.
   */
  attach(): () => void {
    const detachCards = this.cards.attach({
      onView: (f) => {
        const offs = [useAgentStore.subscribe((s, prev) => s.view !== prev.view && f()), usePhoneStore.subscribe((s, prev) => s.calls !== prev.calls && f())];
        return () => offs.forEach((off) => off());
      },
      onLocked: (f) => useAppStore.subscribe((s, prev) => s.lock.locked && !prev.lock.locked && f()),
    });
    const api = koe();
    const offs = [
      api.on('outbox:changed', (st) => this.mainState(st)),
      api.on('outbox:settled', (st) => {
        // a saved note carries what the gateway stored (no text): its "Edit" needs the id and version
        if (st.kind === 'note') updateNote(st.id, { status: st.outcome, ...(st.note ? { stored: { ...st.note, editedAt: null } } : {}) });
        this.settled(st.id);
      }),
      // the list carries the notes' text: main refuses it while locked, so it is read again at unlock
      useAppStore.subscribe((s, prev) => !s.lock.locked && prev.lock.locked && void this.restore()),
    ];
    void api.outbox.state({}).then((r) => (r.ok ? this.mainState(r.value) : logFailure('reading the outbox state', new IpcCallError(r.error.code, r.error.message))));
    void this.restore();
    const detachQueues = holdsUserData('crm-queues', () => {
      const dropped = this.handoff.clear();
      this.mainPending = [];
      this.onSaved.clear();
      // not handed to main yet: dropped with this session (main had not taken them)
      if (dropped > 0) console.warn(`[koe] session ended: ${dropped} item(s) main had not taken were dropped`);
    });
    return () => {
      detachCards();
      offs.forEach((off) => off());
      detachQueues();
    };
  }

  /** After a reload (renderer crash) or an unlock: the notes main still holds, shown as pending. */
  private async restore(): Promise<void> {
    const r = await koe().outbox.list({});
    if (!r.ok) {
      if (r.error.code !== 'locked') logFailure('listing the outbox', new IpcCallError(r.error.code, r.error.message));
      return;
    }
    const known = new Set(useCustomerStore.getState().notes.map((n) => n.clientNoteId));
    const missing: NoteItem[] = r.value.items
      .filter((i) => i.kind === 'note' && i.body !== null && !known.has(i.id))
      .map((i) => ({ clientNoteId: i.id, sipCallId: i.sipCallId, body: i.body!, status: 'pending', attempts: i.attempts }));
    if (missing.length > 0) useCustomerStore.setState((s) => ({ notes: [...missing, ...s.notes] }));
  }

  private mainState(st: OutboxState): void {
    this.mainPending = st.pending;
    for (const p of st.pending) if (p.kind === 'note' && p.attempts > 0) updateNote(p.id, { attempts: p.attempts });
    useCustomerStore.setState({ unsent: st.pending.length, unreadable: st.unreadable });
  }

  private settled(id: string): void {
    const cb = this.onSaved.get(id);
    this.onSaved.delete(id);
    cb?.();
  }

  /**
   * Keeps a note (redacted again here, whatever the textarea showed, IME composition or not):
   * main seals it on disk and sends it until the gateway confirms.
   */
  saveNote(sipCallId: string, text: string): NoteItem | null {
    const body = redactCardNumbers(text).trim();
    if (!body) return null;
    const pop = useCustomerStore.getState().pops[sipCallId];
    const customerId = pop?.status === 'ready' && pop.pop.customers.length === 1 ? pop.pop.customers[0]!.id : null;
    const item: NoteItem = { clientNoteId: crypto.randomUUID(), sipCallId, body, status: 'pending', attempts: 0 };
    useCustomerStore.setState((s) => ({ notes: [...s.notes, item] }));
    this.handoff.push({ kind: 'note', id: item.clientNoteId, sipCallId, customerId, body });
    return item;
  }

  /** A saved note's text was edited (NoteEdit.tsx): the gateway's text (card numbers masked) and version from now on. */
  noteChanged(clientNoteId: string, view: NoteView): void {
    updateNote(clientNoteId, { body: view.body, stored: storedOf(view) });
  }

  /** Updates the gateway's call record (answer/end times, disposition, wrap-up) through main's outbox. */
  patchCall(sipCallId: string, body: CallPatch['body'], onSaved?: () => void): void {
    const id = crypto.randomUUID();
    if (onSaved) this.onSaved.set(id, onSaved);
    this.handoff.push({ kind: 'callPatch', id, sipCallId, patch: body });
  }

  /** How many notes and call updates wait to be sent (here or in main's outbox). */
  pendingCounts(): { notes: number; callUpdates: number } {
    const ids = new Map<string, 'note' | 'callPatch'>();
    for (const p of this.mainPending) ids.set(p.id, p.kind);
    for (const h of this.handoff.pending) ids.set(h.id, h.kind);
    const kinds = [...ids.values()];
    return { notes: kinds.filter((k) => k === 'note').length, callUpdates: kinds.filter((k) => k === 'callPatch').length };
  }

  /** The network is back: hand what main has not taken yet now (main sends its own when its link is back). */
  flush(): void {
    this.handoff.flush();
  }
}
