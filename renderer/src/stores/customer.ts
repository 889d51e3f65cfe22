import type { ScreenPopResponse } from '../../../shared/gateway/crm';
import { userStore } from './user-data';

export type PopState =
  | { status: 'loading' }
  | { status: 'ready'; pop: ScreenPopResponse }
  | { status: 'unknown' }
  | { status: 'error' };

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
  status: 'open' | 'saving' | 'saved';
}

/** Customer data for calls (screen pops), notes and wrap-up. Unmounted views never keep copies. */
export interface CustomerState {
  pops: Record<string, PopState>;
  notes: NoteItem[];
  wrapUp: WrapUp | null;
}

export const initialCustomerState: CustomerState = { pops: {}, notes: [], wrapUp: null };
/** All of it is the user's: cleared when the session ends (user-data.ts). */
export const useCustomerStore = userStore<CustomerState>('customer', initialCustomerState, () => ({ ...initialCustomerState }));

export function setPop(sipCallId: string, pop: PopState): void {
  useCustomerStore.setState((s) => ({ pops: { ...s.pops, [sipCallId]: pop } }));
}
