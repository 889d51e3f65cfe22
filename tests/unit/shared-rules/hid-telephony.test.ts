// The vendor-neutral headset driver's rules (issue 18 item 8): where a descriptor puts the hook
// switch, mute button and lights; input reports to events; lights to output reports; events to
// the shortcut actions; hostile or foreign descriptors give no headset and never throw.
import { describe, expect, it } from 'vitest';
import { headsetAction, headsetEvents, lightReports, telephonyLayout, type HidCollectionInfo } from '../../../shared/rules/hid-telephony';
import { fakeHeadsetHid } from '../../support/fake-hid';

const item = (usage: number | null, size = 1, count = 1) => ({ usages: usage === null ? [] : [usage], reportSize: size, reportCount: count });
/** Report id 0 (no id), a 3-bit padding first, a range item: hook switch bit 5, mute bit 7; LEDs in report 3, byte 1. */
const unusual: HidCollectionInfo[] = [
  { usagePage: 0x01, usage: 0x06, inputReports: [{ reportId: 1, items: [item(0x00070004, 8, 6)] }] }, // a keyboard beside it
  {
    usagePage: 0x0b,
    usage: 0x05,
    children: [
      {
        usagePage: 0x0b,
        usage: 0x01,
        inputReports: [{ items: [item(null, 3), { usageMinimum: 0x000b001e, usageMaximum: 0x000b0021, isRange: true, reportSize: 1, reportCount: 4 }, item(0x000b002f), item(null, 0)] }],
        outputReports: [{ reportId: 3, items: [item(null, 8), item(0x00080017), item(0x00080018), item(0x00080009), item(null, 5)] }],
      },
    ],
  },
];

describe('telephonyLayout', () => {
  it("reads the fake headset's descriptor: hook bit 0, mute bit 2 of input report 2; mute, off-hook, ring lights bits 0-2 of output report 2", () => {
    const device = (fakeHeadsetHid().hid as { getDevices(): Promise<{ collections: HidCollectionInfo[] }[]> });
    return device.getDevices().then(([d]) => {
      expect(telephonyLayout(d!.collections)).toEqual({
        hookSwitch: { reportId: 2, bit: 0 },
        mute: { reportId: 2, bit: 2 },
        leds: { mute: { reportId: 2, bit: 0 }, offHook: { reportId: 2, bit: 1 }, ring: { reportId: 2, bit: 2 } },
        outputBytes: { 2: 1 },
      });
    });
  });

  it('follows padding, usage ranges, nested collections and a report without id', () => {
    expect(telephonyLayout(unusual)).toEqual({
      hookSwitch: { reportId: 0, bit: 5 }, // 3 padding bits, then 0x1E, 0x1F, 0x20
      mute: { reportId: 0, bit: 7 },
      leds: { offHook: { reportId: 3, bit: 8 }, ring: { reportId: 3, bit: 9 }, mute: { reportId: 3, bit: 10 } },
      outputBytes: { 3: 2 },
    });
  });

  it('no headset in a keyboard, a telephony collection without a hook switch, or hostile descriptors', () => {
    const hostile: unknown[] = [
      [],
      [{ usagePage: 0x01, usage: 0x06, inputReports: [{ reportId: 1, items: [item(0x000b0020)] }] }], // a hook usage outside a telephony collection
      [{ usagePage: 0x0b, usage: 0x05, inputReports: [{ reportId: 1, items: [item(0x000b002f)] }] }],
      [{ usagePage: 0x0b, inputReports: [{ reportId: 1, items: [item(0x000b0020, -1, 1)] }] }],
      [{ usagePage: 0x0b, inputReports: [{ reportId: 1, items: [item(null, 8, 1e9), item(0x000b0020)] }] }], // beyond 64 bytes
      [{ usagePage: 0x0b, inputReports: [{ reportId: 1, items: [{ usageMinimum: 0, usageMaximum: 0xffffffff, isRange: true, reportSize: 1, reportCount: 1 }] }] }],
      [{ usagePage: 0x0b, inputReports: [{ reportId: 1, items: [{ reportSize: 1.5, reportCount: 1, usages: [0x000b0020] }] }] }],
    ];
    for (const c of hostile) expect(telephonyLayout(c as HidCollectionInfo[])).toBeNull();
    // deeply nested (a descriptor loop as a parser might produce): stops, no stack overflow
    let deep: HidCollectionInfo = { usagePage: 0x0b, inputReports: [{ reportId: 1, items: [item(0x000b0020)] }] };
    for (let i = 0; i < 10_000; i++) deep = { usagePage: 0x0c, children: [deep] };
    expect(telephonyLayout([deep])).toBeNull();
  });
});

describe('headsetEvents, lightReports, headsetAction', () => {
  const layout = telephonyLayout(unusual)!;
  it('the hook switch is a state (an event on each change), mute a button (an event per press); other reports and short ones are ignored', () => {
    let buttons = { hook: false, mute: false };
    const feed = (reportId: number, bytes: number[]) => {
      const r = headsetEvents(layout, reportId, new Uint8Array(bytes), buttons);
      buttons = r.after;
      return r.events;
    };
    expect(feed(0, [0b0010_0000])).toEqual(['hook-off']);
    expect(feed(0, [0b0010_0000])).toEqual([]);
    expect(feed(0, [0b1010_0000])).toEqual(['mute-press']);
    expect(feed(0, [0b0010_0000])).toEqual([]); // released
    expect(feed(3, [0x00])).toEqual([]); // another report
    expect(feed(0, [])).toEqual([]); // too short: nothing read
    expect(feed(0, [0x00])).toEqual(['hook-on']);
  });

  it('lights set their bits in whole output reports', () => {
    expect(lightReports(layout, { offHook: true, ring: false, mute: true }).map((r) => [r.reportId, [...r.data]])).toEqual([[3, [0, 0b101]]]);
    expect(lightReports(layout, { offHook: false, ring: false, mute: false }).map((r) => [r.reportId, [...r.data]])).toEqual([[3, [0, 0]]]);
  });

  it('lifting answers a ringing call, putting down hangs up a call, mute toggles during a call; nothing without a call', () => {
    expect(headsetAction('hook-off', { ringing: true, inCall: false })).toBe('answer');
    expect(headsetAction('hook-off', { ringing: true, inCall: true })).toBeNull(); // a second call ringing: the screen decides
    expect(headsetAction('hook-off', { ringing: false, inCall: false })).toBeNull();
    expect(headsetAction('hook-on', { ringing: false, inCall: true })).toBe('hangup');
    expect(headsetAction('hook-on', { ringing: true, inCall: false })).toBeNull();
    expect(headsetAction('mute-press', { ringing: false, inCall: true })).toBe('mute');
    expect(headsetAction('mute-press', { ringing: true, inCall: false })).toBeNull();
  });
});
