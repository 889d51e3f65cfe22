// The SIP.js phone's side of a three-way call (issue 18 item 6): joinConference puts the mixes on
// both calls' senders; mute is the microphone in both mixes; a device switch mid-conference
// replaces the mic source in the mixes (not the senders' tracks); a leg's end gives the other
// call the plain microphone back. The audio graph is the fake one (tests/support/fake-audio-graph.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionState } from 'sip.js';
import { SipJsPhone } from '../../../renderer/src/features/phone/sipjs-phone';
import type { MixTrack } from '../../../renderer/src/features/phone/conference-mix';
import { Graph, Sender, Track } from '../../support/fake-audio-graph';

function leg(id: string, mic: Track, remote: Track) {
  const sender = new Sender(mic);
  const listeners: ((s: SessionState) => void)[] = [];
  const session = {
    state: SessionState.Established,
    sessionDescriptionHandler: { peerConnection: { getSenders: () => [sender], getReceivers: () => [{ track: remote }] } },
    stateChange: { addListener: (l: (s: SessionState) => void) => listeners.push(l) },
    delegate: {},
  };
  const end = () => {
    session.state = SessionState.Terminated;
    for (const l of listeners) l(SessionState.Terminated);
  };
  return { id, sender, session, end, info: { id } };
}

function phoneWithTwoCalls() {
  const phone = new SipJsPhone();
  const graph = new Graph();
  phone.mixDeps = { context: () => graph, streamOf: (track: MixTrack) => ({ track }) };
  const micC = new Track('mic-customer-call');
  const micK = new Track('mic-consult-call');
  const customer = leg('customer', micC, new Track('customer'));
  const consult = leg('consult', micK, new Track('colleague'));
  const p = phone as unknown as { legs: Map<string, unknown>; devices: unknown; track(s: unknown, info: unknown): unknown };
  p.devices = { inputDeviceId: 'headset-mic', outputDeviceId: null };
  for (const l of [customer, consult]) {
    // the phone's own bookkeeping (track() listens for the session's end)
    p.track(l.session, { id: l.id, sipCallId: `${l.id}@test`, direction: 'outbound', remote: '', campaignId: null, dialledNumber: null, receivedAt: 0 });
  }
  phone['listener' as never] = { phase: () => undefined, registration: () => undefined, incoming: () => undefined } as never;
  return { phone, graph, customer, consult, micC, micK };
}

afterEach(() => vi.unstubAllGlobals());

describe('three-way call in the SIP.js phone', () => {
  it('joins: each call sends the microphone plus the other party; mute silences the operator in both, the mixes stay on the senders', async () => {
    const { phone, graph, customer, consult, micK } = phoneWithTwoCalls();
    await phone.joinConference('consult', 'customer');
    expect(graph.heardOn(customer.sender.track)).toEqual(['colleague', 'mic-consult-call']);
    expect(graph.heardOn(consult.sender.track)).toEqual(['customer', 'mic-consult-call']);
    phone.mute('customer', true);
    expect(micK.enabled).toBe(false);
    // the mix tracks themselves are not disabled (the other party's voice must still go through)
    expect(customer.sender.track!.enabled).toBe(true);
    expect(consult.sender.track!.enabled).toBe(true);
    phone.mute('consult', false);
    expect(micK.enabled).toBe(true);
  });

  it('a device switch mid-conference replaces the mic source in both mixes, not the senders\' tracks', async () => {
    const { phone, graph, customer, consult, micK } = phoneWithTwoCalls();
    await phone.joinConference('consult', 'customer');
    const mixes = [customer.sender.track, consult.sender.track];
    const usb = new Track('usb-mic');
    vi.stubGlobal('navigator', { mediaDevices: { getUserMedia: async () => ({ getAudioTracks: () => [usb] }) } });
    await phone.setDevices({ inputDeviceId: 'usb-mic', outputDeviceId: null });
    expect([customer.sender.track, consult.sender.track]).toEqual(mixes);
    expect(graph.heardOn(customer.sender.track)).toEqual(['colleague', 'usb-mic']);
    expect(graph.heardOn(consult.sender.track)).toEqual(['customer', 'usb-mic']);
    expect(micK.readyState).toBe('ended');
    // the colleague leaves: the customer's call carries the new microphone, plain
    consult.end();
    await vi.waitFor(() => expect(customer.sender.track).toBe(usb));
    expect(graph.closed).toBe(true);
  });

  it('a second join while one is mixed is refused (conference_failed) and changes nothing', async () => {
    const { phone, customer } = phoneWithTwoCalls();
    await phone.joinConference('consult', 'customer');
    const before = customer.sender.track;
    await expect(phone.joinConference('consult', 'customer')).rejects.toMatchObject({ code: 'conference_failed' });
    expect(customer.sender.track).toBe(before);
  });

  it('a call that is not established cannot be joined', async () => {
    const { phone, consult, micC, customer } = phoneWithTwoCalls();
    consult.session.state = SessionState.Establishing;
    await expect(phone.joinConference('consult', 'customer')).rejects.toMatchObject({ code: 'conference_failed' });
    expect(customer.sender.track).toBe(micC);
  });
});
