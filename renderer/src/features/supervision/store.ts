import type { BoardState } from '../../../../shared/ipc/contract';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';
import type { BoardPolicy } from '../../../../shared/gateway/policy';
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
  /** The org's board thresholds (GET /supervision/board-policy); null before the gateway answered. */
  thresholds: BoardPolicy | null;
  /** The last read of the thresholds failed: the defaults are used, and the board says so. */
  thresholdsFailed: boolean;
}

export const initialSupervisionState: SupervisionState = { board: { operators: [], updatedAt: null }, lead: null, coaching: null, thresholds: null, thresholdsFailed: false };

/** All of it is the user's (board rows, the call a lead listens to): cleared when the session ends. */
export const useSupervisionStore = userStore<SupervisionState>('supervision', initialSupervisionState, () => ({ ...initialSupervisionState }));
