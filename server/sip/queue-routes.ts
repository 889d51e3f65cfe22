// Queue and announcement routes: Kamailio's queue-hold report (shared secret, like /sip/route),
// and an org's own announcement files (admins with policy:manage; every change audited).
import type { FastifyInstance } from 'fastify';
import { ANNOUNCEMENT_LANGS, ANNOUNCEMENT_NAMES, type AnnouncementLang, type AnnouncementName } from '../../shared/gateway/queue';
import { appendAudit, eventBy } from '../audit/audit';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import { validateWav, wavSha256 } from './announcements';

export function registerQueueRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const { db, clock } = ctx;

  route(app, ctx, 'sipQueueHold', async ({ query }) => {
    return ctx.queues.hold(query);
  });

  route(app, ctx, 'putCampaignQueue', async ({ principal, params, body, sourceIp }) => {
    await db.transaction().execute(async (tx) => {
      const c = await tx.selectFrom('campaigns').select('id').where('id', '=', params.id).where('org_id', '=', principal.orgId).forUpdate().executeTakeFirst();
      if (!c) throw new GatewayError('not_found', 'no such campaign');
      if (body.overflowCampaignId) {
        const bad = (message: string) => new GatewayError('validation_failed', message, { issues: [{ path: 'body.overflowCampaignId', message }] });
        if (body.overflowCampaignId === params.id) throw bad('a campaign cannot overflow into itself');
        const o = await tx.selectFrom('campaigns').select('id').where('id', '=', body.overflowCampaignId).where('org_id', '=', principal.orgId).executeTakeFirst();
        if (!o) throw bad('no such campaign in this org');
      }
      await tx.updateTable('campaigns')
        .set({ queue_max_wait_seconds: body.maxWaitSeconds, queue_max_size: body.maxSize, queue_overflow_campaign_id: body.overflowCampaignId, updated_at: clock.now() })
        .where('id', '=', params.id).execute();
      await appendAudit(tx, clock, { ...eventBy(principal, 'campaign.queue_changed', { type: 'campaign', id: params.id }, { ...body }), sourceIp });
    });
    return body;
  });

  const viewOf = async (orgId: string, name: AnnouncementName, lang: AnnouncementLang) => {
    const own = await db.selectFrom('org_announcements').select(['sha256', 'duration_ms', 'uploaded_at']).where('org_id', '=', orgId).where('name', '=', name).where('lang', '=', lang).executeTakeFirst();
    return own
      ? { name, lang, source: 'org' as const, sha256: own.sha256, durationMs: own.duration_ms, uploadedAt: own.uploaded_at.toISOString() }
      : { name, lang, source: 'koe' as const, sha256: null, durationMs: null, uploadedAt: null };
  };

  route(app, ctx, 'listAnnouncements', async ({ principal }) => {
    const announcements = [];
    for (const name of ANNOUNCEMENT_NAMES) for (const lang of ANNOUNCEMENT_LANGS) announcements.push(await viewOf(principal.orgId, name, lang));
    return { announcements };
  });

  route(app, ctx, 'putAnnouncement', async ({ principal, params, body, sourceIp }) => {
    const wav = Buffer.from(body.wavBase64, 'base64');
    if (wav.toString('base64').replace(/=+$/, '') !== body.wavBase64.replace(/=+$/, '')) {
      throw new GatewayError('validation_failed', 'announcement: not base64', { issues: [{ path: 'body.wavBase64', message: 'not base64' }] });
    }
    const info = validateWav(wav, params.name);
    const hash = wavSha256(wav);
    await db.transaction().execute(async (tx) => {
      const now = clock.now();
      await tx.insertInto('org_announcements')
        .values({ org_id: principal.orgId, name: params.name, lang: params.lang, sha256: hash, data: wav, duration_ms: info.durationMs, uploaded_by: principal.userId, uploaded_at: now })
        .onConflict((oc) => oc.columns(['org_id', 'name', 'lang']).doUpdateSet({ sha256: hash, data: wav, duration_ms: info.durationMs, uploaded_by: principal.userId, uploaded_at: now }))
        .execute();
      await appendAudit(tx, clock, {
        ...eventBy(principal, 'announcement.replaced', { type: 'announcement', id: `${params.name}/${params.lang}` }, { sha256: hash, bytes: wav.length, durationMs: info.durationMs, sampleRate: info.sampleRate }),
        sourceIp,
      });
    });
    return viewOf(principal.orgId, params.name, params.lang);
  });

  route(app, ctx, 'deleteAnnouncement', async ({ principal, params, sourceIp }) => {
    await db.transaction().execute(async (tx) => {
      const gone = await tx.deleteFrom('org_announcements').where('org_id', '=', principal.orgId).where('name', '=', params.name).where('lang', '=', params.lang).returning('sha256').executeTakeFirst();
      if (!gone) throw new GatewayError('not_found', 'this announcement is already the one Koe ships');
      await appendAudit(tx, clock, { ...eventBy(principal, 'announcement.reset', { type: 'announcement', id: `${params.name}/${params.lang}` }, { sha256: gone.sha256 }), sourceIp });
    });
    return viewOf(principal.orgId, params.name, params.lang);
  });
}
