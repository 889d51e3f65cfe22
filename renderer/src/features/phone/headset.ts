// A USB headset's call buttons and lights through WebHID (issue 18 item 8), behind the Headset
// interface: the standard HID Telephony page every softphone headset implements
// (shared/rules/hid-telephony.ts reads its descriptor), no vendor SDK. Main grants HID access
// only to the policy's headset vendors (main/security/permissions.ts); this asks only for
// devices with a telephony collection of those vendors.
import { logFailure } from '../../log';
import { headsetEvents, lightReports, telephonyLayout, TELEPHONY_PAGE, type HeadsetButtons, type HeadsetEvent, type HeadsetLights, type HidCollectionInfo, type TelephonyLayout } from '../../../../shared/rules/hid-telephony';

/** The parts of WebHID's HIDDevice used here (a fake implements the same in tests). */
export interface HidDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly productName: string;
  readonly opened: boolean;
  readonly collections: readonly HidCollectionInfo[];
  open(): Promise<void>;
  close(): Promise<void>;
  sendReport(reportId: number, data: Uint8Array): Promise<void>;
  addEventListener(type: 'inputreport', listener: (e: { reportId: number; data: DataView }) => void): void;
  removeEventListener(type: 'inputreport', listener: (e: { reportId: number; data: DataView }) => void): void;
}
export interface HidLike {
  getDevices(): Promise<HidDeviceLike[]>;
  requestDevice(options: { filters: { vendorId?: number; usagePage?: number }[] }): Promise<HidDeviceLike[]>;
  addEventListener(type: 'disconnect', listener: (e: { device: HidDeviceLike }) => void): void;
  removeEventListener(type: 'disconnect', listener: (e: { device: HidDeviceLike }) => void): void;
}

export interface Headset {
  readonly name: string;
  /** Shows the call's state on the headset's lights (ring, off-hook, mute). */
  setLights(lights: HeadsetLights): Promise<void>;
  close(): Promise<void>;
}

export type HeadsetFailure = 'unsupported' | 'not_a_headset' | 'open_failed' | 'none_chosen';

/** The browser's WebHID (absent outside Chromium/Electron, or in an insecure context). */
export function webHid(): HidLike | null {
  const hid = (globalThis.navigator as unknown as { hid?: HidLike } | undefined)?.hid;
  return hid ?? null;
}

class WebHidHeadset implements Headset {
  private buttons: HeadsetButtons = { hook: false, mute: false };
  private last = '';
  private readonly onReport = (e: { reportId: number; data: DataView }) => {
    const data = new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const { events, after } = headsetEvents(this.layout, e.reportId, data, this.buttons);
    this.buttons = after;
    for (const ev of events) this.onEvent(ev);
  };

  constructor(
    private readonly device: HidDeviceLike,
    private readonly layout: TelephonyLayout,
    private readonly onEvent: (e: HeadsetEvent) => void,
  ) {
    device.addEventListener('inputreport', this.onReport);
  }

  get name(): string {
    return this.device.productName || `USB ${this.device.vendorId.toString(16).padStart(4, '0')}:${this.device.productId.toString(16).padStart(4, '0')}`;
  }

  async setLights(lights: HeadsetLights): Promise<void> {
    // the headset's own idea of the hook follows the off-hook light the host sets
    const key = `${lights.offHook}${lights.ring}${lights.mute}`;
    if (key === this.last) return;
    this.last = key;
    for (const r of lightReports(this.layout, lights)) await this.device.sendReport(r.reportId, r.data);
    this.buttons = { ...this.buttons, hook: lights.offHook };
  }

  async close(): Promise<void> {
    this.device.removeEventListener('inputreport', this.onReport);
    if (this.device.opened) await this.device.close();
  }
}

/**
 * Opens a headset: a device this PC already allowed (`prompt` false, at start) or one the
 * operator picks (`prompt` true, from a button: WebHID asks only on a user gesture).
 */
export async function openHeadset(
  hid: HidLike | null,
  vendorIds: readonly number[],
  prompt: boolean,
  onEvent: (e: HeadsetEvent) => void,
): Promise<{ headset: Headset; device: HidDeviceLike } | { failure: HeadsetFailure }> {
  if (!hid || vendorIds.length === 0) return { failure: 'unsupported' };
  const allowed = (d: HidDeviceLike) => vendorIds.includes(d.vendorId);
  const candidates = prompt
    ? await hid.requestDevice({ filters: vendorIds.map((vendorId) => ({ vendorId, usagePage: TELEPHONY_PAGE })) })
    : await hid.getDevices();
  const devices = candidates.filter(allowed);
  if (devices.length === 0) return { failure: prompt ? 'none_chosen' : 'unsupported' };
  for (const device of devices) {
    const layout = telephonyLayout(device.collections);
    if (!layout) continue;
    try {
      if (!device.opened) await device.open();
    } catch (err) {
      logFailure('opening the headset', err);
      return { failure: 'open_failed' };
    }
    return { headset: new WebHidHeadset(device, layout, onEvent), device };
  }
  return { failure: 'not_a_headset' };
}
