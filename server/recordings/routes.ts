// Recording routes (docs/telephony.md "Recordings"): every one through route(), so the
// authentication, the permission check and its audit are the ones every path passes.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context';
import { GatewayError } from '../errors';
import { route } from '../http';
import type { RecordingsService } from './service';

export function registerRecordingRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const rec: RecordingsService = ctx.recordings;
  route(app, ctx, 'recordingSettings', async ({ principal, params, body }) => rec.settings(principal, params.id, body));
  route(app, ctx, 'listRecordings', async ({ principal, query }) => ({ recordings: await rec.list(principal, query) }));
  route(app, ctx, 'playRecording', async ({ principal, params }) => rec.grant(principal, params.id));
  // the handler writes status, headers and bytes itself; the reply passes route()'s response check unchanged
  route(app, ctx, 'streamRecording', async ({ principal, params, query, req, reply }) => (await rec.stream(principal, params.id, query.cap, req, reply)) as unknown as { readonly streamedByHandler: true });
  route(app, ctx, 'legalHold', async ({ principal, body }) => rec.legalHold(principal, body));
  route(app, ctx, 'deleteRecording', async ({ principal, params, body }) => rec.deleteOnRequest(principal, params.id, body.reason));
  route(app, ctx, 'retentionSettings', async ({ principal, params, body }) => rec.retentionSettings(principal, params.id, body));
  route(app, ctx, 'eraseCustomer', async ({ principal, params, body }) => rec.eraseCustomer(principal, params.id, body.reason));
  route(app, ctx, 'recordCall', async ({ principal, body }) => {
    if (!ctx.recorder) throw new GatewayError('not_found', 'recording is not configured on this gateway');
    return { callId: body.callId, recording: await ctx.recorder.recordOnDemand(principal, body.callId) };
  });
  route(app, ctx, 'secureCapture', async ({ principal, body }) => {
    if (!ctx.recorder) throw new GatewayError('not_found', 'recording is not configured on this gateway');
    return ctx.recorder.secureCapture(principal, body.callId, body.paused);
  });
  route(app, ctx, 'liveRecording', async ({ principal, query }) => {
    if (!ctx.recorder) throw new GatewayError('not_found', 'recording is not configured on this gateway');
    return ctx.recorder.liveState(principal, query.callId);
  });
  route(app, ctx, 'recentRecordings', async ({ principal, query }) => ({ recordings: await rec.recent(principal, query.limit) }));
}
