// The tables of queues and announcements (0011; server/sip/queue.ts, server/sip/announcements.ts).
import type { ColumnType, Selectable } from 'kysely';

type Json = ColumnType<unknown, string, string>;

export type QueueEntryState = 'pending' | 'waiting' | 'dispatching' | 'ending' | 'connected' | 'abandoned' | 'overflowed' | 'expired' | 'failed';

/** One call waiting in (or having left) a campaign's queue, keyed by its SIP Call-ID. */
export interface CallQueueTable {
  sip_call_id: string;
  org_id: string;
  /** The queue it waits in now (an overflow moves it). */
  campaign_id: string;
  /** The campaign its DID routed it to. */
  first_campaign_id: string;
  /** Kamailio's routing query (shared/gateway/sip.ts SipRouteQuery), re-run when an operator is free. */
  query: Json;
  caller_e164: string | null;
  dialled_e164: string;
  state: QueueEntryState;
  enqueued_at: Date;
  /** When it leaves this queue if nobody took it (the campaign's maximum wait). */
  deadline: Date;
  /** Kamailio reported the INVITE suspended (183 sent, transaction held). */
  held_at: Date | null;
  /** The Kamailio node's control address (loopback host:port) that holds the INVITE. */
  control: string | null;
  t_index: number | null;
  t_label: number | null;
  media_node: string | null;
  from_tag: string | null;
  /** The announcement to play next (notice -> greeting -> music), and when (the one playing ends). */
  next_play: string | null;
  next_play_at: Date | null;
  /** Not offered to an operator before this (the recording notice plays first). */
  dispatch_after: Date | null;
  claimed_by: string | null;
  claimed_at: Date | null;
  /** An entry ending with a message: which announcement, and when it has played (then hang up). */
  end_announcement: string | null;
  end_at: Date | null;
  ended_at: Date | null;
  end_reason: string | null;
}

/** One row of call_queue as read. */
export type CallQueueEntry = Selectable<CallQueueTable>;

export interface OrgAnnouncementsTable {
  org_id: string;
  name: string;
  lang: 'ja' | 'en';
  sha256: string;
  data: Buffer;
  duration_ms: number;
  uploaded_by: string | null;
  uploaded_at: Date;
}
