// Switching the microphone or the speaker during a call must not drop it (issue 18 item 7): the
// phone swaps the sender's track (no re-INVITE) and the audio element's sink. The e2e test
// proves the audio with tones; this one pins what is done to the peer connection.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SipJsPhone } from '../../../renderer/src/features/phone/sipjs-phone';

class FakeTrack {
  kind = 'audio';
  enabled = true;
  stopped = false;
  constructor(readonly device: string) {}
  stop() {
    this.stopped = true;
  }
}

function phoneWithCall(opts: { muted?: boolean } = {}) {
  const phone = new SipJsPhone();
  const oldTrack = new FakeTrack('headset-mic');
  const sender = {
    track: oldTrack as FakeTrack | null,
    replaced: [] as FakeTrack[],
    async replaceTrack(t: FakeTrack) {
      this.replaced.push(t);
      this.track = t;
    },
  };
  const renegotiations: string[] = [];
  const session = {
    sessionDescriptionHandler: { peerConnection: { getSenders: () => [sender] } },
    invite: () => renegotiations.push('re-INVITE'),
  };
  const audio = {
    sinkId: '',
    async setSinkId(id: string) {
      this.sinkId = id;
    },
  };
  const p = phone as unknown as { legs: Map<string, unknown>; devices: unknown };
  p.devices = { inputDeviceId: 'headset-mic', outputDeviceId: 'headset' };
  audio.sinkId = 'headset';
  p.legs.set('call-1', { session, info: { id: 'call-1' }, audio, status: null, mediaLost: false, restarting: false, restartTries: 0, mediaTimer: null, muted: false, held: false });
  if (opts.muted) phone.mute('call-1', true); // the operator's mute, as the phone keeps it
  return { phone, sender, oldTrack, audio, renegotiations };
}

function stubMedia(open: (device: string) => Promise<{ getAudioTracks(): FakeTrack[] }>) {
  vi.stubGlobal('navigator', {
    mediaDevices: { getUserMedia: (c: { audio: { deviceId?: { exact: string } } | true }) => open(c.audio === true ? 'default' : c.audio.deviceId!.exact) },
  });
}
afterEach(() => vi.unstubAllGlobals());

describe('device switch during a call', () => {
  it('a new microphone replaces the track on the sender (no renegotiation), keeps the mute, and closes the old microphone', async () => {
    const { phone, sender, oldTrack, renegotiations } = phoneWithCall({ muted: true });
    stubMedia(async (device) => ({ getAudioTracks: () => [new FakeTrack(device)] }));
    await phone.setDevices({ inputDeviceId: 'usb-mic', outputDeviceId: 'headset' });
    expect(sender.track?.device).toBe('usb-mic');
    expect(sender.track?.enabled).toBe(false); // still muted
    expect(oldTrack.stopped).toBe(true);
    expect(renegotiations).toEqual([]);
  });

  it('a new speaker moves the call audio, and "system default" moves it back', async () => {
    const { phone, audio, sender } = phoneWithCall();
    stubMedia(async () => {
      throw new Error('the microphone was not changed');
    });
    await phone.setDevices({ inputDeviceId: 'headset-mic', outputDeviceId: 'speakers' });
    expect(audio.sinkId).toBe('speakers');
    await phone.setDevices({ inputDeviceId: 'headset-mic', outputDeviceId: null });
    expect(audio.sinkId).toBe('');
    expect(sender.replaced).toEqual([]);
  });

  it('a microphone that cannot be opened leaves the call on the one it had (and says so)', async () => {
    const { phone, sender, oldTrack } = phoneWithCall();
    stubMedia(async () => {
      throw Object.assign(new Error('busy'), { name: 'NotReadableError' });
    });
    await expect(phone.setDevices({ inputDeviceId: 'usb-mic', outputDeviceId: 'headset' })).rejects.toMatchObject({ name: 'NotReadableError' });
    expect(sender.track).toBe(oldTrack);
    expect(oldTrack.stopped).toBe(false);
  });
});
