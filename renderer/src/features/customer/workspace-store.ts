import type { CustomerView } from '../../../../shared/gateway/crm';
import { userStore } from '../../app/user-data';

/** The customer workspace's search (issue 18 item 1): the query, its results, the customer opened. All the user's. */
export interface WorkspaceState {
  query: string;
  status: 'idle' | 'searching' | 'done' | 'failed';
  results: CustomerView[];
  /** The customer opened from the results (not the caller: that one is the call's card). */
  opened: CustomerView | null;
}

export const initialWorkspaceState: WorkspaceState = { query: '', status: 'idle', results: [], opened: null };
export const useWorkspaceStore = userStore<WorkspaceState>('customer-workspace', initialWorkspaceState, () => ({ ...initialWorkspaceState }));
