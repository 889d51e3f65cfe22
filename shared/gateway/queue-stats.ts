// The lead's board: the queues and the day (issue 15 item 6). Computed by the gateway from the
// database (server/supervision/queue-stats.ts), pushed to board sockets on a bounded cadence.
import { z } from 'zod';
import { AGENT_STATES } from '../rules/operator-model';

export const CampaignStats = z.strictObject({
  campaignId: z.string(),
  name: z.string(),
  /** Calls waiting now (not answered, not ended) and since when the oldest waits (epoch ms), null if none. */
  waiting: z.number().int().nonnegative(),
  oldestWaitingSince: z.number().int().nullable(),
  /** Today in the campaign's zone: calls offered (by Call-ID), answered, abandoned (the caller hung up unanswered). */
  offered: z.number().int().nonnegative(),
  answered: z.number().int().nonnegative(),
  abandoned: z.number().int().nonnegative(),
  /** Answered within targetSeconds / (answered + abandoned), 0..1; null before any. */
  serviceLevel: z.number().nullable(),
  targetSeconds: z.number().int().nonnegative(),
  /** Mean handle time (talk + wrap-up) of today's finished answered calls, seconds; null before any. */
  averageHandleSeconds: z.number().nullable(),
});
export type CampaignStats = z.infer<typeof CampaignStats>;

export const OperatorStats = z.strictObject({
  userId: z.string(),
  /** Today: calls answered, calls let ring out (missed), handle time (talk + wrap-up), seconds. */
  calls: z.number().int().nonnegative(),
  missed: z.number().int().nonnegative(),
  handleSeconds: z.number(),
  /** Seconds in each agent state today (the state history, operator_transitions). */
  stateSeconds: z.partialRecord(z.enum(AGENT_STATES), z.number()),
});
export type OperatorStats = z.infer<typeof OperatorStats>;

export const QueueStats = z.strictObject({
  /** When it was computed (epoch ms). */
  at: z.number().int().nonnegative(),
  campaigns: z.array(CampaignStats),
  operators: z.array(OperatorStats),
});
export type QueueStats = z.infer<typeof QueueStats>;

export const BoardStatsMessage = z.strictObject({ type: z.literal('boardStats'), stats: QueueStats });
