// Supervision sessions and their rtpengine legs in the database (supervision_sessions, issue
// 14): any gateway instance lists, switches, stops and tears down a session, whichever one
// started it, and a restarted instance finds the legs its predecessor left. Every change of a
// session's legs is one conditional UPDATE, so two instances never both act on the same leg:
// the end is claimed (`ended_at is null`), the operator's whisper leg is claimed by its id.
import type { Selectable } from 'kysely';
import type { Db, SupervisionSessionsTable } from '../db/schema';
import type { SupervisionMode } from '../../shared/gateway/supervision';

export type SupervisionRow = Selectable<SupervisionSessionsTable>;
export type EndReason = 'stopped' | 'call_ended' | 'operator_left';

export class SupervisionStore {
  constructor(private readonly db: Db) {}

  async insert(row: Omit<SupervisionRow, 'operator_connected' | 'ended_at' | 'end_reason'>): Promise<void> {
    await this.db.insertInto('supervision_sessions').values({ ...row, ended_at: null, end_reason: null }).execute();
  }

  /** A live session by id. */
  live(id: string): Promise<SupervisionRow | undefined> {
    return this.db.selectFrom('supervision_sessions').selectAll().where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
  }

  byId(id: string): Promise<SupervisionRow | undefined> {
    return this.db.selectFrom('supervision_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  liveOfCall(callId: string, leadId?: string): Promise<SupervisionRow[]> {
    let q = this.db.selectFrom('supervision_sessions').selectAll().where('call_id', '=', callId).where('ended_at', 'is', null);
    if (leadId) q = q.where('lead_id', '=', leadId);
    return q.execute();
  }

  liveByLeg(legId: string): Promise<SupervisionRow | undefined> {
    return this.db.selectFrom('supervision_sessions').selectAll().where('operator_leg_id', '=', legId).where('ended_at', 'is', null).executeTakeFirst();
  }

  /** Every live session (any instance's): the list, the poll. */
  allLive(): Promise<SupervisionRow[]> {
    return this.db.selectFrom('supervision_sessions').selectAll().where('ended_at', 'is', null).orderBy('started_at').execute();
  }

  /** Claims the end: the row as it was, or undefined when another instance (or call) ended it first. */
  claimEnd(id: string, reason: EndReason, at: Date): Promise<SupervisionRow | undefined> {
    return this.db
      .updateTable('supervision_sessions')
      .set({ ended_at: at, end_reason: reason })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  async setMode(id: string, mode: SupervisionMode): Promise<void> {
    await this.db.updateTable('supervision_sessions').set({ mode }).where('id', '=', id).execute();
  }

  async setPublishTag(id: string, tag: string): Promise<void> {
    await this.db.updateTable('supervision_sessions').set({ publish_tag: tag }).where('id', '=', id).execute();
  }

  /** Records the operator's whisper leg; false when the session already has one or ended. */
  async openLeg(id: string, leg: { legId: string; toTag: string; offer: string }): Promise<boolean> {
    const r = await this.db
      .updateTable('supervision_sessions')
      .set({ operator_leg_id: leg.legId, operator_to_tag: leg.toTag, operator_offer: leg.offer, operator_connected: false })
      .where('id', '=', id)
      .where('operator_leg_id', 'is', null)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Claims the operator's answer of this leg (once). */
  async markConnected(legId: string, connected: boolean): Promise<boolean> {
    const r = await this.db
      .updateTable('supervision_sessions')
      .set({ operator_connected: connected })
      .where('operator_leg_id', '=', legId)
      .where('operator_connected', '=', !connected)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Claims the close of the operator's leg; false when it was closed already. */
  async closeLeg(id: string, legId: string): Promise<boolean> {
    const row = await this.db
      .updateTable('supervision_sessions')
      .set({ operator_leg_id: null, operator_to_tag: null, operator_offer: null, operator_connected: false })
      .where('id', '=', id)
      .where('operator_leg_id', '=', legId)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }
}
