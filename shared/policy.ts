import { z } from 'zod';

/** The UI's colours (issue 18 item 4): `system` follows the OS (more contrast, then light or dark). */
export const Theme = z.enum(['system', 'dark', 'light', 'high-contrast']);
export type Theme = z.infer<typeof Theme>;

/** An app version as Koe's releases number them: MAJOR.MINOR.PATCH with an optional pre-release (1.4.0-beta.2). */
export const AppVersion = z
  .string()
  .regex(/^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(-[0-9A-Za-z-]{1,32}(\.[0-9A-Za-z-]{1,32}){0,7})?$/, 'a version MAJOR.MINOR.PATCH[-pre]');

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * The client policy: what IT sets in the managed policy file and what the gateway's
 * org policy adds. Every field has a safe default so a PC with no policy file still
 * runs locked down.
 */
export const ClientPolicy = z
  .object({
    gatewayUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8787'),
    sipWssUrl: z.url({ protocol: /^wss?$/ }).default('wss://127.0.0.1:7443'),
    iceServers: z
      .array(
        z
          .object({
            urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
            username: z.string().optional(),
            credential: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    idleTimeoutSeconds: z.number().int().min(30).max(86_400).default(300),
    contentProtection: z.boolean().default(true),
    blurOnFocusLoss: z.boolean().default(false),
    /**
     * Updates (docs/updates.md): `auto` verifies and hands the artifact to the installer, `notify`
     * verifies and tells the user it is ready, `disabled` never asks the update feed.
     */
    updates: z.enum(['auto', 'notify', 'disabled']).default('notify'),
    /** The signed update feed (any static HTTPS host; http only on loopback, for tests). None: no updates. */
    updateUrl: z
      .url({ protocol: /^https?$/ })
      .refine((u) => u.startsWith('https:') || LOOPBACK_HOSTS.has(new URL(u).hostname), 'https, or http on loopback only')
      .optional(),
    updateChannel: z.enum(['stable', 'beta']).default('stable'),
    /** Exactly this version (up or down) while set, if the signed feed still lists it on the channel. */
    pinnedVersion: AppVersion.optional(),
    language: z.enum(['ja', 'en']).default('ja'),
    /** The user's choice unless set here; `system` follows the OS. */
    theme: Theme.default('system'),
    /** Answer (Ctrl+Alt+A) and hang up (Ctrl+Alt+E) registered with the OS while signed in, so they work when Koe is not in front. */
    globalShortcuts: z.boolean().default(true),
    /**
     * USB vendor ids whose headsets Koe may drive (answer, hang up, mute, lights) through WebHID:
     * main grants HID access to these only. Default: the major headset makers
     * (shared/rules/hid-telephony.ts HEADSET_VENDORS); [] turns headset buttons off.
     */
    /**
     * The OS notification of a ringing call while Koe is minimised names the caller (the card's
     * name, else the number). Off by default: a notification can show on a locked screen or in a
     * screen share, and the caller is customer data; "着信があります" alone then.
     */
    notifyShowsCaller: z.boolean().default(false),
    headsetVendorIds: z.array(z.number().int().min(1).max(0xffff)).max(64).default([0x0b0e, 0x047f, 0x1395, 0x6993, 0x046d]),
  })
  .strict();
export type ClientPolicy = z.infer<typeof ClientPolicy>;

export const defaultPolicy = (): ClientPolicy => ClientPolicy.parse({});
