import { create } from 'zustand';
import type { BoardState } from '../../../../shared/ipc/contract';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';

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

export const useSupervisionStore = create<SupervisionState>()(() => ({ board: { operators: [], updatedAt: null }, lead: null, coaching: null }));
