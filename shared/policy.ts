import { z } from 'zod';

/** The UI's colours (issue 18 item 4): `system` follows the OS (more contrast, then light or dark). */
export const Theme = z.enum(['system', 'dark', 'light', 'high-contrast']);
export type Theme = z.infer<typeof Theme>;

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
    updateChannel: z.enum(['stable', 'beta']).default('stable'),
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
