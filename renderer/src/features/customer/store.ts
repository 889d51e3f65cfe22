import type { ScreenPopResponse } from '../../../../shared/gateway/crm';
import type { NotesPolicy } from '../../../../shared/gateway/policy';
import { userStore } from '../../app/user-data';

export type PopState =
  | { status: 'loading' }
  | { status: 'ready'; pop: ScreenPopResponse }
  /** Nobody known, or the pop failed (the card is a convenience: a failure shows an unknown caller, caller-views.ts). */
  | { status: 'unknown' };

/** A note as the gateway stored it, without its text (the item has that): what "Edit" needs. */
export interface StoredNote {
  id: string;
  authorId: string;
  version: number;
  open: boolean;
  createdAt: string;
  /** The last edit of its text; null: as written. */
  editedAt: string | null;
}

export interface NoteItem {
  clientNoteId: string;
  sipCallId: string;
  body: string;
  status: 'pending' | 'saved' | 'refused';
  attempts: number;
  /** Once saved: the gateway's note (absent when its answer could not be read: then it cannot be edited here). */
  stored?: StoredNote;
}

export interface WrapUp {
  sipCallId: string;
  startedAt: number;
  disposition: string | null;
  /** `saving`: the finish was sent and the gateway has not answered (the panel says so). Closed is null. */
  status: 'open' | 'saving';
}

/** Customer data for calls (screen pops), notes and wrap-up. Unmounted views never keep copies. */
export interface CustomerState {
  pops: Record<string, PopState>;
  notes: NoteItem[];
  wrapUp: WrapUp | null;
  /** Items main's outbox holds for the gateway (notes and call updates), and records it could not read. */
  unsent: number;
  unreadable: number;
  /** The org's note editing policy (GET /me/note-policy); null before the gateway said (the defaults are assumed, the gateway decides). */
  notePolicy: NotesPolicy | null;
  /** Read once, when a note that may be edited is first shown; again after an edit refused by the policy. */
  notePolicyStatus: 'idle' | 'loading' | 'ready' | 'failed';
}

export const initialCustomerState: CustomerState = { pops: {}, notes: [], wrapUp: null, unsent: 0, unreadable: 0, notePolicy: null, notePolicyStatus: 'idle' };
/** All of it is the user's: cleared when the session ends (user-data.ts). */
export const useCustomerStore = userStore<CustomerState>('customer', initialCustomerState, () => ({ ...initialCustomerState }));

export function setPop(sipCallId: string, pop: PopState): void {
  useCustomerStore.setState((s) => ({ pops: { ...s.pops, [sipCallId]: pop } }));
}
