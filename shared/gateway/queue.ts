// Queues per campaign and announcements (docs/telephony.md "Queues and announcements"): the
// queue-hold report Kamailio makes for a call the gateway queued, and an org's own
// announcement files (admin upload). Spread into ROUTES (api.ts).
import { z } from 'zod';
import type { RouteSpec } from './route-spec';
import { Id, Iso, SipCallId } from './primitives';

/** The announcements Koe ships (ja and en) and an org may replace. */
export const ANNOUNCEMENT_NAMES = ['greeting', 'notice', 'closed', 'blocked', 'overflow', 'music'] as const;
export const AnnouncementName = z.enum(ANNOUNCEMENT_NAMES);
export type AnnouncementName = z.infer<typeof AnnouncementName>;
export const ANNOUNCEMENT_LANGS = ['ja', 'en'] as const;
export const AnnouncementLang = z.enum(ANNOUNCEMENT_LANGS);
export type AnnouncementLang = z.infer<typeof AnnouncementLang>;

/**
 * Kamailio (koe.cfg route[QUEUE_HOLD]) has answered a queued (or to-be-announced) call's routing
 * lookup and is about to suspend its INVITE: where the transaction is (tm index and label, the
 * node's control port), and the caller's offer (the gateway anchors the early media on the
 * node's rtpengine and plays the announcements).
 */
export const SipQueueHoldQuery = z.strictObject({
  callId: SipCallId,
  tindex: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  tlabel: z.coerce.number().int().min(0).max(2 ** 32 - 1),
  /** The node's control address (koe.cfg KOE_CONTROL_HOST:KOE_CONTROL_PORT): loopback only. */
  control: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$/, '127.x.x.x:<port>'),
  fromTag: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/),
  media: z.string().max(64).default(''),
  sdp: z.string().min(1).max(8192),
});
export const SipQueueHoldResponse = z.strictObject({
  /** The 183's SDP: rtpengine's side toward the caller. */
  sdp: z.string(),
  /** Kamailio's own limit on the held INVITE (its timer ends the call if no gateway does). */
  holdSeconds: z.number().int().min(1).max(7200),
});

export const AnnouncementView = z.strictObject({
  name: AnnouncementName,
  lang: AnnouncementLang,
  /** 'org': this org's own file; 'koe': the one Koe ships. */
  source: z.enum(['org', 'koe']),
  sha256: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  uploadedAt: Iso.nullable(),
});
export const AnnouncementsResponse = z.strictObject({ announcements: z.array(AnnouncementView) });
/** A WAV file: PCM 16-bit mono, 8000 or 16000 Hz, 0.5 to 60 s (music) or 30 s (messages), at most 1.5 MB. */
export const AnnouncementUpload = z.strictObject({ wavBase64: z.string().min(8).max(2_100_000).regex(/^[A-Za-z0-9+/]+={0,2}$/) });
export const AnnouncementParams = z.strictObject({ name: AnnouncementName, lang: AnnouncementLang });

/** A campaign's queue: how long a caller may wait, how many may wait, where they go after (null: the overflow message, then hang-up). */
export const CampaignQueueSettings = z.strictObject({
  maxWaitSeconds: z.number().int().min(5).max(3600),
  maxSize: z.number().int().min(0).max(1000),
  overflowCampaignId: Id.nullable(),
});
export const CampaignQueueParams = z.strictObject({ id: Id });

export const QUEUE_ROUTES = {
  putCampaignQueue: {
    method: 'PUT', path: '/campaigns/:id/queue', summary: 'A campaign\'s queue limits and overflow (an overflow campaign of the same org, not itself); audited',
    auth: 'campaigns:manage', params: CampaignQueueParams, body: CampaignQueueSettings, response: CampaignQueueSettings,
  },
  sipQueueHold: {
    method: 'GET', path: '/sip/queue-hold', summary: 'Kamailio only (X-Koe-Route-Secret): a queued call is held (183, INVITE suspended); the gateway starts its announcements',
    auth: 'kamailio', query: SipQueueHoldQuery, response: SipQueueHoldResponse,
  },
  listAnnouncements: {
    method: 'GET', path: '/admin/announcements', summary: 'The org\'s announcements (its own files or the ones Koe ships)', auth: 'policy:manage',
    response: AnnouncementsResponse,
  },
  putAnnouncement: {
    method: 'PUT', path: '/admin/announcements/:name/:lang', summary: 'Replace one announcement with the org\'s own WAV (validated: format, size, duration); audited',
    auth: 'policy:manage', params: AnnouncementParams, body: AnnouncementUpload, response: AnnouncementView, bodyLimit: 3 * 1024 * 1024,
  },
  deleteAnnouncement: {
    method: 'DELETE', path: '/admin/announcements/:name/:lang', summary: 'Back to the announcement Koe ships; audited',
    auth: 'policy:manage', params: AnnouncementParams, response: AnnouncementView,
  },
} as const satisfies Record<string, RouteSpec>;


