// A fake USB headset behind WebHID (issue 18 item 8): the report descriptor of a typical
// softphone headset (HID Telephony page: hook switch, line busy, phone mute in input report 2;
// LED page: mute, off-hook, ring in output report 2), the buttons an operator presses, and the
// output reports the app sends (its lights). Like a real one, it takes the host's off-hook light
// as its hook state. One plain-JavaScript source: e2e tests install it in Chromium with
// addInitScript (FAKE_HEADSET_SCRIPT), component tests make it with fakeHeadsetHid().
export interface FakeHeadsetHandle {
  hid: unknown;
  /** The output reports received, as [reportId, first byte]. */
  sent: [number, number][];
  /** The lights as the last output report set them. */
  lights(): { mute: boolean; offHook: boolean; ring: boolean };
  lift(): void;
  putDown(): void;
  pressMute(): void;
  opened(): boolean;
}

const SOURCE = `function fakeHeadsetHid(vendorId) {
  const listeners = [];
  const sent = [];
  let hook = 0;
  let isOpen = false;
  const item = (usage, size) => ({ usages: usage === null ? [] : [usage], reportSize: size || 1, reportCount: 1, isRange: false });
  const device = {
    vendorId: vendorId === undefined ? 0x0b0e : vendorId,
    productId: 0x0422,
    productName: 'Fake Headset 40',
    get opened() { return isOpen; },
    collections: [{
      usagePage: 0x0b, usage: 0x05, children: [], featureReports: [],
      inputReports: [{ reportId: 2, items: [item(0x000b0020), item(0x000b0097), item(0x000b002f), item(null, 5)] }],
      outputReports: [{ reportId: 2, items: [item(0x00080009), item(0x00080017), item(0x00080018), item(null, 5)] }],
    }],
    async open() { isOpen = true; },
    async close() { isOpen = false; },
    async sendReport(reportId, data) {
      if (!isOpen) throw new DOMException('device not opened', 'InvalidStateError');
      const byte = data[0] || 0;
      sent.push([reportId, byte]);
      hook = (byte >> 1) & 1; // the host's off-hook light is the headset's hook state
    },
    addEventListener(_type, l) { listeners.push(l); },
    removeEventListener(_type, l) { const i = listeners.indexOf(l); if (i >= 0) listeners.splice(i, 1); },
  };
  const input = (muteBit) => {
    const data = new DataView(new Uint8Array([hook | (muteBit << 2)]).buffer);
    for (const l of listeners.slice()) l({ reportId: 2, data, device });
  };
  const hid = {
    async getDevices() { return [device]; },
    async requestDevice() { return [device]; },
    addEventListener() {},
    removeEventListener() {},
  };
  return {
    hid, sent,
    lights() { const b = sent.length ? sent[sent.length - 1][1] : 0; return { mute: (b & 1) === 1, offHook: ((b >> 1) & 1) === 1, ring: ((b >> 2) & 1) === 1 }; },
    lift() { hook = 1; input(0); },
    putDown() { hook = 0; input(0); },
    pressMute() { input(1); input(0); },
    opened: () => isOpen,
  };
}`;

export function fakeHeadsetHid(vendorId?: number): FakeHeadsetHandle {
  return new Function(`return (${SOURCE})(${vendorId === undefined ? '' : Number(vendorId)});`)() as FakeHeadsetHandle;
}

/** The init script that gives a Chromium page the fake headset as navigator.hid (window.__headset drives it). */
export const FAKE_HEADSET_SCRIPT = `(() => {
  const h = (${SOURCE})();
  Object.defineProperty(window, '__headset', { value: h });
  Object.defineProperty(Navigator.prototype, 'hid', { get: () => h.hid, configurable: true });
})();`;
