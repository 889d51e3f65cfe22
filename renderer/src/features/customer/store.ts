import type { ScreenPopResponse } from '../../../../shared/gateway/crm';
import { userStore } from '../../app/user-data';

export type PopState =
  | { status: 'loading' }
  | { status: 'ready'; pop: ScreenPopResponse }
  /** Nobody known, or the pop failed (the card is a convenience: a failure shows an unknown caller, caller-views.ts). */
  | { status: 'unknown' };

export interface NoteItem {
  clientNoteId: string;
  sipCallId: string;
  body: string;
  status: 'pending' | 'saved' | 'refused';
  attempts: number;
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
}

export const initialCustomerState: CustomerState = { pops: {}, notes: [], wrapUp: null, unsent: 0, unreadable: 0 };
/** All of it is the user's: cleared when the session ends (user-data.ts). */
export const useCustomerStore = userStore<CustomerState>('customer', initialCustomerState, () => ({ ...initialCustomerState }));

export function setPop(sipCallId: string, pop: PopState): void {
  useCustomerStore.setState((s) => ({ pops: { ...s.pops, [sipCallId]: pop } }));
}
