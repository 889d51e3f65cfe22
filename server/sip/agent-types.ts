// The operator model's types at the gateway (server/sip/agents.ts AgentRegistry).
import type { Transaction } from 'kysely';
import type { Database } from '../db/schema';
import type { Effect, OperatorEvent, OperatorState, Refusal, Transition } from '../../shared/rules/operator-model';
import type { LegacyAgentState } from '../../shared/gateway/sip';

export interface Who {
  userId: string;
  orgId: string;
  username: string;
}

/** The legacy view of an agent (listAgents, the board, the legacy agentState push). */
export interface AgentRecord extends Who {
  /** The old vocabulary: the model's `ringing` is `on_call` here. */
  state: LegacyAgentState;
  reason: string | null;
  since: Date;
  model: OperatorState;
}

export interface AgentChange extends Who {
  state: OperatorState;
  /** For a change heard from another instance: the state re-read (its transitions stay there). */
  previous: OperatorState;
  transitions: Transition[];
  effects: Effect[];
  /** 'client' (an intent over /ws), 'gateway' (routing, sweeper, engines, connect/disconnect). */
  by: 'client' | 'gateway';
  origin: unknown;
  /** Made through another gateway instance (the bus). */
  remote?: boolean;
}
export type AgentListener = (change: AgentChange) => void;

/** An event without its time: apply() stamps it with the clock when it steps. */
export type EventInput = OperatorEvent extends infer E ? (E extends OperatorEvent ? Omit<E, 'at'> : never) : never;

export type ApplyOutcome =
  | { kind: 'accepted'; state: OperatorState; previous: OperatorState; transitions: Transition[]; effects: Effect[] }
  /** A duplicate or stale fact: nothing changed. */
  | { kind: 'ignored'; state: OperatorState }
  | { kind: 'refused'; refusal: Refusal; state: OperatorState }
  /** The step would have broken an invariant (a bug): reported, nothing stored. */
  | { kind: 'invalid'; problems: string[]; state: OperatorState };

export interface ApplyOptions {
  by?: 'client' | 'gateway';
  /** Runs inside the storing transaction, only for an accepted step (e.g. routing's call row). */
  within?: (tx: Transaction<Database>, next: OperatorState, who: Who) => Promise<void>;
  /** Extra audit detail for the agent transitions of this step. */
  detail?: Record<string, unknown>;
  /** Where the request came from (the operator's or the lead's principal): the hand's audit entries carry it. */
  source?: { sourceIp: string | null; deviceId: string | null };
  /** Handed to the listeners with the change (a socket marks the step that answers its message). */
  origin?: unknown;
  /**
   * Recovery only: the instance whose connection a `disconnected` releases (a gone one), or
   * 'orphan' (a connection no instance owns: counted before connections had owners).
   */
  connectionOf?: string;
}

/** Routing's claim: the longest-offerable operator of the campaign, not one of `exclude` (already offered this call). */
export interface OfferRequest {
  orgId: string;
  campaignId: string;
  callId: string;
  /** The campaign's ring timeout (the model's ring deadline); absent: the org's. */
  ringSeconds?: number;
  exclude?: readonly string[];
  /**
   * Whether anyone of the campaign was offerable, read by the caller's own statement a moment
   * before (routing's DID statement, offerableExists): false ends the claim without another
   * read, exactly as the claim's own first probe would; absent: the claim probes itself.
   */
  anyOfferable?: boolean;
}
