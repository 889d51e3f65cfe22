// Hold must not let the held party hear the operator: a hold is a re-INVITE with our side
// sendonly, so the phone itself turns the microphone off on that call before the hold is asked,
// and back on only once the call is taken off hold (and only if it is not muted). Found by the
// three-way call's recording: during a consultation the held customer's leg still carried the
// operator's microphone.
import { describe, expect, it } from 'vitest';
import { SessionState } from 'sip.js';
import { SipJsPhone } from '../../../renderer/src/features/phone/sipjs-phone';
import { Sender, Track } from '../../support/fake-audio-graph';

function phoneWithCall(answer: 'accept' | 'reject' = 'accept') {
  const phone = new SipJsPhone();
  const mic = new Track('mic');
  const sender = new Sender(mic);
  const sentWith: boolean[] = []; // the microphone's state when each re-INVITE left
  const session = {
    state: SessionState.Established,
    sessionDescriptionHandlerOptionsReInvite: {},
    sessionDescriptionHandler: { peerConnection: { getSenders: () => [sender], getReceivers: () => [] }, enableReceiverTracks: () => undefined },
    stateChange: { addListener: () => undefined },
    delegate: {},
    invite: async (o: { requestDelegate: { onAccept: () => void; onReject: (r: unknown) => void } }) => {
      sentWith.push(mic.enabled);
      queueMicrotask(() => (answer === 'accept' ? o.requestDelegate.onAccept() : o.requestDelegate.onReject({ message: { statusCode: 488 } })));
    },
  };
  const p = phone as unknown as { track(s: unknown, info: unknown): unknown };
  p.track(session, { id: 'c1', sipCallId: 'c1@test', direction: 'inbound', remote: '', campaignId: null, dialledNumber: null, receivedAt: 0 });
  phone['listener' as never] = { phase: () => undefined, registration: () => undefined, incoming: () => undefined, held: () => undefined } as never;
  return { phone, mic, sentWith };
}

describe('hold and the microphone', () => {
  it('the microphone is off from before the hold is asked until the call is back; a muted call stays muted after it', async () => {
    const { phone, mic, sentWith } = phoneWithCall();
    await phone.hold('c1', true);
    expect(sentWith).toEqual([false]); // off before the re-INVITE left
    expect(mic.enabled).toBe(false);
    phone.mute('c1', false); // unmuting on hold does not open the microphone to the held party
    expect(mic.enabled).toBe(false);
    await phone.hold('c1', false);
    expect(mic.enabled).toBe(true);
    phone.mute('c1', true);
    await phone.hold('c1', true);
    await phone.hold('c1', false);
    expect(mic.enabled).toBe(false); // still muted
  });

  it('a refused hold leaves the microphone as it was', async () => {
    const { phone, mic } = phoneWithCall('reject');
    await expect(phone.hold('c1', true)).rejects.toMatchObject({ code: 'hold_failed' });
    expect(mic.enabled).toBe(true);
  });
});
