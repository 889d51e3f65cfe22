// Supervision's rules and records (server/supervision/service.ts): who may hear whom, whether
// rtpengine still has the call (its dialogue tags), the audit of every start, switch, stop
// and refusal.
import { appendAudit } from '../audit/audit';
import type { Clock } from '../clock';
import type { Db } from '../db/schema';
import { GatewayError } from '../errors';
import { actorOf, type Principal } from '../auth/principal-type';
import type { Board } from './board';
import type { NgClient } from './ng';
import { queryLegs } from './parties';
import { Sdp, type SupervisionMode } from '../../shared/gateway/supervision';

type AuditAction = 'supervision.started' | 'supervision.mode' | 'supervision.stopped' | 'supervision.refused';

export class SupervisionRules {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly board: Board,
    private readonly engine: (address: string) => NgClient,
  ) {}

  async audit(
    action: AuditAction,
    p: { orgId: string; lead: { userId: string; username: string }; sourceIp?: string | null; deviceId?: string | null },
    detail: { operatorId: string | null; callId: string; mode?: SupervisionMode | null; [k: string]: unknown },
    byGateway = false,
  ): Promise<void> {
    await this.db.transaction().execute((tx) =>
      appendAudit(tx, this.clock, {
        action,
        orgId: p.orgId,
        actor: byGateway ? null : p.lead,
        target: detail.operatorId ? { type: 'user', id: detail.operatorId } : null,
        sourceIp: p.sourceIp ?? null,
        deviceId: p.deviceId ?? null,
        detail: { leadId: p.lead.userId, lead: p.lead.username, ...detail },
      }),
    );
  }

  async refuse(p: Principal, callId: string, operatorId: string | null, reason: string, error: GatewayError, mode: SupervisionMode | null = 'monitor'): Promise<never> {
    await this.audit('supervision.refused', { orgId: p.orgId, lead: actorOf(p), sourceIp: p.sourceIp, deviceId: p.deviceId }, { operatorId, callId, mode, reason });
    throw error;
  }

  /** The lead leads a team the operator is an operator of; `users:read` (admins): anyone in the org. */
  async mayHear(p: Principal, operatorId: string): Promise<boolean> {
    if (operatorId === p.userId) return false;
    return (await this.board.visibleOperators(p, operatorId)).length === 1;
  }

  /**
   * The call's dialogue tags per rtpengine `query` (offer/answer pairs), customer first whichever
   * direction the call was placed (./parties.ts), or null when that rtpengine knows no live call.
   */
  async dialogueTags(address: string, callId: string): Promise<string[] | null> {
    const legs = await queryLegs(this.engine(address), callId);
    return legs && legs.tags.length >= 2 ? legs.tags : null;
  }

  async rtpSdp(answer: Record<string, unknown>, what: string): Promise<string> {
    const sdp = Sdp.safeParse(answer.sdp);
    if (!sdp.success) throw new GatewayError('internal_error', `rtpengine gave no usable SDP for ${what}`);
    return sdp.data;
  }
}
