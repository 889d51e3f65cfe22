// USB headsets' call buttons and lights, vendor-neutral (issue 18 item 8): every USB headset
// made for softphones (Jabra/GN, Poly/Plantronics, EPOS/Sennheiser, Yealink, Logitech...)
// describes its hook switch and mute button in the HID Telephony usage page (0x0B) and its
// lights in the LED page (0x08) of its report descriptor, which WebHID hands over parsed as
// `HIDDevice.collections`. This module reads that description (which report, which bit), turns
// input reports into headset events and the phone's state into output reports. Pure: no DOM, no
// WebHID; renderer/src/features/phone/headset.ts drives a device with it.
//
// Usages (USB HID Usage Tables 1.4): Telephony page 0x0B: Headset 0x05, Hook Switch 0x20,
// Phone Mute 0x2F; LED page 0x08: Mute 0x09, Off-Hook 0x17, Ring 0x18. WebHID gives an item's
// usages as 32-bit extended usages (page << 16 | id).

export const TELEPHONY_PAGE = 0x0b;
export const LED_PAGE = 0x08;
const usage = (page: number, id: number) => ((page << 16) | id) >>> 0;
export const HOOK_SWITCH = usage(TELEPHONY_PAGE, 0x20);
export const PHONE_MUTE = usage(TELEPHONY_PAGE, 0x2f);
export const LED_MUTE = usage(LED_PAGE, 0x09);
export const LED_OFF_HOOK = usage(LED_PAGE, 0x17);
export const LED_RING = usage(LED_PAGE, 0x18);

/** The parts of WebHID's HIDReportItem / HIDReportInfo / HIDCollectionInfo this reads. */
export interface HidReportItem {
  usages?: number[];
  usageMinimum?: number;
  usageMaximum?: number;
  isRange?: boolean;
  reportSize?: number;
  reportCount?: number;
}
export interface HidReportInfo {
  reportId?: number;
  items?: HidReportItem[];
}
export interface HidCollectionInfo {
  usagePage?: number;
  usage?: number;
  inputReports?: HidReportInfo[];
  outputReports?: HidReportInfo[];
  children?: HidCollectionInfo[];
}

/** A one-bit field: its report and its bit offset in the report's data (after the report id). */
export interface HidField {
  reportId: number;
  bit: number;
}

export interface TelephonyLayout {
  hookSwitch: HidField | null;
  mute: HidField | null;
  leds: { offHook: HidField | null; ring: HidField | null; mute: HidField | null };
  /** Each output report's length in bytes (the whole report is sent each time). */
  outputBytes: Record<number, number>;
}

/** At most this many bits are looked at per report (a descriptor claiming more is not a headset's). */
const MAX_REPORT_BITS = 8 * 64;

function fieldsOf(reports: HidReportInfo[] | undefined, wanted: readonly number[], found: Map<number, HidField>, bytes?: Record<number, number>): void {
  for (const report of reports ?? []) {
    const reportId = report.reportId ?? 0;
    let bit = 0;
    for (const item of report.items ?? []) {
      const size = item.reportSize ?? 0;
      const count = item.reportCount ?? 0;
      if (size < 0 || count < 0 || !Number.isInteger(size) || !Number.isInteger(count)) return;
      const usages = item.isRange && item.usageMinimum !== undefined && item.usageMaximum !== undefined && item.usageMaximum - item.usageMinimum < 256
        ? Array.from({ length: item.usageMaximum - item.usageMinimum + 1 }, (_, i) => item.usageMinimum! + i)
        : (item.usages ?? []);
      for (let i = 0; i < count && bit + (i + 1) * size <= MAX_REPORT_BITS; i++) {
        // a report item with fewer usages than fields: the last usage applies to the rest (HID 1.11 6.2.2.8)
        const u = usages.length ? usages[Math.min(i, usages.length - 1)]! >>> 0 : null;
        if (u !== null && wanted.includes(u) && !found.has(u)) found.set(u, { reportId, bit: bit + i * size });
      }
      bit += size * count;
    }
    if (bytes) bytes[reportId] = Math.max(bytes[reportId] ?? 0, Math.ceil(Math.min(bit, MAX_REPORT_BITS) / 8));
  }
}

function* walk(collections: readonly HidCollectionInfo[], depth = 0): Generator<HidCollectionInfo> {
  if (depth > 8) return;
  for (const c of collections) {
    yield c;
    yield* walk(c.children ?? [], depth + 1);
  }
}

/**
 * Where a device's hook switch, mute button and lights are, or null when it has no telephony
 * collection with a hook switch (not a headset Koe can drive: a keyboard, a mouse).
 */
export function telephonyLayout(collections: readonly HidCollectionInfo[]): TelephonyLayout | null {
  const telephony = [...walk(collections)].filter((c) => c.usagePage === TELEPHONY_PAGE);
  if (telephony.length === 0) return null;
  const inputs = new Map<number, HidField>();
  const outputs = new Map<number, HidField>();
  const outputBytes: Record<number, number> = {};
  for (const c of telephony) {
    fieldsOf(c.inputReports, [HOOK_SWITCH, PHONE_MUTE], inputs);
    fieldsOf(c.outputReports, [LED_OFF_HOOK, LED_RING, LED_MUTE], outputs, outputBytes);
  }
  const hookSwitch = inputs.get(HOOK_SWITCH) ?? null;
  if (!hookSwitch) return null;
  const used = new Set([...outputs.values()].map((f) => f.reportId));
  return {
    hookSwitch,
    mute: inputs.get(PHONE_MUTE) ?? null,
    leds: { offHook: outputs.get(LED_OFF_HOOK) ?? null, ring: outputs.get(LED_RING) ?? null, mute: outputs.get(LED_MUTE) ?? null },
    outputBytes: Object.fromEntries(Object.entries(outputBytes).filter(([id]) => used.has(Number(id)))),
  };
}

const bitOf = (data: Uint8Array, bit: number) => (data[bit >> 3]! >> (bit & 7)) & 1;

export type HeadsetEvent = 'hook-off' | 'hook-on' | 'mute-press';
export interface HeadsetButtons {
  hook: boolean;
  mute: boolean;
}

/**
 * An input report's events: the hook switch is a state (off-hook while 1: lifted, or the call
 * button pressed), so a change is an event; Phone Mute is a button, an event on each press.
 */
export function headsetEvents(layout: TelephonyLayout, reportId: number, data: Uint8Array, before: HeadsetButtons): { events: HeadsetEvent[]; after: HeadsetButtons } {
  const after = { ...before };
  const events: HeadsetEvent[] = [];
  const read = (f: HidField | null) => (f && f.reportId === reportId && f.bit >> 3 < data.length ? bitOf(data, f.bit) === 1 : null);
  const hook = read(layout.hookSwitch);
  if (hook !== null && hook !== before.hook) {
    events.push(hook ? 'hook-off' : 'hook-on');
    after.hook = hook;
  }
  const mute = read(layout.mute);
  if (mute !== null && mute !== before.mute) {
    if (mute) events.push('mute-press');
    after.mute = mute;
  }
  return { events, after };
}

export interface HeadsetLights {
  offHook: boolean;
  ring: boolean;
  mute: boolean;
}

/** The output reports that show these lights (each report whole, other bits 0). */
export function lightReports(layout: TelephonyLayout, lights: HeadsetLights): { reportId: number; data: Uint8Array }[] {
  const reports = new Map<number, Uint8Array>();
  for (const [id, bytes] of Object.entries(layout.outputBytes)) reports.set(Number(id), new Uint8Array(bytes));
  const set = (f: HidField | null, on: boolean) => {
    const data = f && reports.get(f.reportId);
    if (data && on) data[f.bit >> 3]! |= 1 << (f.bit & 7);
  };
  set(layout.leds.offHook, lights.offHook);
  set(layout.leds.ring, lights.ring);
  set(layout.leds.mute, lights.mute);
  return [...reports].map(([reportId, data]) => ({ reportId, data }));
}

/** What the phone is doing, as far as the headset's buttons matter. */
export interface PhoneForHeadset {
  ringing: boolean;
  inCall: boolean;
}

/**
 * The shortcut action (shared/rules/shortcuts.ts) a headset event stands for: the same path as
 * the keyboard, so a button is refused where the on-screen button is. Lifting the headset (or
 * pressing its call button) answers a ringing call; putting it back hangs up; mute toggles.
 * Nothing else: a hook change with no call (the operator adjusting the headset) does nothing.
 */
export function headsetAction(event: HeadsetEvent, phone: PhoneForHeadset): 'answer' | 'hangup' | 'mute' | null {
  if (event === 'hook-off') return phone.ringing && !phone.inCall ? 'answer' : null;
  if (event === 'hook-on') return phone.inCall ? 'hangup' : null;
  return phone.inCall ? 'mute' : null;
}

/** Headset makers' USB vendor ids, the default of the `headsetVendorIds` policy. */
export const HEADSET_VENDORS: Record<string, number> = {
  'GN Netcom (Jabra)': 0x0b0e,
  'Plantronics (Poly)': 0x047f,
  'Sennheiser Communications (EPOS)': 0x1395,
  Yealink: 0x6993,
  Logitech: 0x046d,
};
