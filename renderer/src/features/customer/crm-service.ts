// The renderer's calls to the gateway's CRM routes (screen pop, notes, call record), made
// directly with the short-lived access token main hands out (the gateway's CORS allowlist
// names the app's origin). Notes and call updates go through retry queues: nothing typed is lost.
// The queues belong to one CustomerRecords, made by the shell and given to the views through
// context (CustomerSession.tsx): no module state.
import { GatewayCallError } from '../../../../shared/gateway-client';
import { accessToken, gatewayClient } from '../../gateway';
import type { ScreenPopResponse } from '../../../../shared/gateway/crm';
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

const client = gatewayClient;
const token = accessToken;

/** The gateway took it (2xx) but answered something unexpected: retrying would not change that. */
const acceptedAnyway = (err: unknown) => err instanceof GatewayCallError && err.status !== null && err.status < 300;
/** Refused for good (validation, scope): retrying cannot help. 401/408/429 are worth retrying. */
const refused = (err: unknown) =>
  err instanceof GatewayCallError && err.status !== null && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 408 && err.status !== 429;
const permanent = (err: unknown) => acceptedAnyway(err) || refused(err);

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

/** The notes and call updates this renderer sends to the gateway, each until confirmed. */
export class CustomerRecords {
  /** The cards pushed with the ring and the pops in flight, by SIP Call-ID (call-cards.ts). */
  readonly cards = new CallCards({
    pop: popOf,
    view: () => useAgentStore.getState().view,
    liveCallIds: () => liveCalls(usePhoneStore.getState().calls).map((c) => c.sipCallId),
  });

  private readonly notes = new RetryQueue<NoteItem>({
    async send(n) {
      const pop = useCustomerStore.getState().pops[n.sipCallId];
      const customerId = pop?.status === 'ready' && pop.pop.customers.length === 1 ? pop.pop.customers[0]!.id : undefined;
      await client.call('createNote', {
        accessToken: await token(),
        // Redacted again on the way out (defence in depth: whatever put the item in the queue).
        body: { clientNoteId: n.clientNoteId, callId: n.sipCallId, ...(customerId ? { customerId } : {}), body: redactCardNumbers(n.body), open: true },
      });
    },
    what: 'sending a note',
    permanent,
    onSent: (n) => updateNote(n.clientNoteId, { status: 'saved' }),
    onFailed: (n, _e, attempt) => updateNote(n.clientNoteId, { attempts: attempt }),
    onDropped: (n, err) => updateNote(n.clientNoteId, { status: acceptedAnyway(err) ? 'saved' : 'refused' }),
  });

  private readonly callPatches = new RetryQueue<CallPatch>({
    async send(p) {
      await client.call('patchCall', { accessToken: await token(), params: { callId: p.sipCallId }, body: p.body });
    },
    what: 'updating a call record',
    permanent,
    onSent: (p) => p.onSaved?.(),
    onDropped: (p) => p.onSaved?.(),
  });

  /**
   * While mounted: the session's end drops what is still queued, since it was the previous
   * user's (sent later it would go out with the next user's token, to a campaign they may not
   * see); the count is logged. Returns the detach function.
   */
  attach(): () => void {
    const detachCards = this.cards.attach({
      onView: (f) => {
        const offs = [useAgentStore.subscribe((s, prev) => s.view !== prev.view && f()), usePhoneStore.subscribe((s, prev) => s.calls !== prev.calls && f())];
        return () => offs.forEach((off) => off());
      },
      onLocked: (f) => useAppStore.subscribe((s, prev) => s.lock.locked && !prev.lock.locked && f()),
    });
    const detachQueues = holdsUserData('crm-queues', () => {
      const dropped = { notes: this.notes.clear(), callUpdates: this.callPatches.clear() };
      if (dropped.notes + dropped.callUpdates > 0) {
        console.warn(`[koe] session ended: ${dropped.notes} unsent note(s) and ${dropped.callUpdates} call update(s) dropped`);
      }
    });
    return () => {
      detachCards();
      detachQueues();
    };
  }

  /**
   * Queues a note (redacted again here, whatever the textarea showed, IME composition or not)
   * and sends it until confirmed.
   */
  saveNote(sipCallId: string, text: string): NoteItem | null {
    const body = redactCardNumbers(text).trim();
    if (!body) return null;
    const item: NoteItem = { clientNoteId: crypto.randomUUID(), sipCallId, body, status: 'pending', attempts: 0 };
    useCustomerStore.setState((s) => ({ notes: [...s.notes, item] }));
    this.notes.push(item);
    return item;
  }

  /** Updates the gateway's call record (answer/end times, disposition, wrap-up); queued and retried. */
  patchCall(sipCallId: string, body: CallPatch['body'], onSaved?: () => void): void {
    this.callPatches.push({ sipCallId, body, ...(onSaved ? { onSaved } : {}) });
  }

  /** How many notes and call updates wait to be sent (for tests: the session end leaves none). */
  pendingCounts(): { notes: number; callUpdates: number } {
    return { notes: this.notes.pending.length, callUpdates: this.callPatches.pending.length };
  }

  /** The network is back: send what is waiting now. */
  flush(): void {
    this.notes.flush();
    this.callPatches.flush();
  }
}
