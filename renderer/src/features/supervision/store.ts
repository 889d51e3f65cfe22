import type { BoardState } from '../../../../shared/ipc/contract';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';
import { userStore } from '../../app/user-data';

export interface LeadSession {
  supervisionId: string | null;
  callId: string;
  operatorId: string;
  mode: SupervisionMode;
  status: 'connecting' | 'listening' | 'switching' | 'ended' | 'refused';
  error: string | null;
  operatorConnected: boolean;
}

export interface SupervisionState {
  board: BoardState;
  lead: LeadSession | null;
  /** Operator side: a team lead's voice is connected (whisper) or mixed into the call (barge). */
  coaching: { legId: string; mode: 'whisper' | 'barge' } | null;
}

export const initialSupervisionState: Pick<SupervisionState, 'board' | 'lead' | 'coaching'> = { board: { operators: [], updatedAt: null }, lead: null, coaching: null };

/** All of it is the user's (board rows, the call a lead listens to): cleared when the session ends. */
export const useSupervisionStore = userStore<SupervisionState>('supervision', initialSupervisionState, () => ({ ...initialSupervisionState }));
