// A team lead's whisper and barge use the microphone the lead chose in the audio settings, as
// the phone does (was: always the system default, whatever was chosen).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LeadSupervision } from '../../renderer/src/features/supervision/lead-client';
import { initialSupervisionState, useSupervisionStore } from '../../renderer/src/features/supervision/store';

const asked: MediaStreamConstraints[] = [];
function stubMicrophone() {
  // the microphone is refused here: what matters is what was asked for (the switch then reports the refusal)
  const getUserMedia = vi.fn(async (c: MediaStreamConstraints) => {
    asked.push(c);
    throw new DOMException('no microphone in this test', 'NotFoundError');
  });
  Object.defineProperty(navigator, 'mediaDevices', { value: { getUserMedia }, configurable: true });
}

afterEach(() => {
  asked.length = 0;
  useSupervisionStore.setState({ ...initialSupervisionState });
});

describe("the lead's voice (whisper, barge)", () => {
  it.each([
    ['the chosen device', 'usb-headset-7', { deviceId: { exact: 'usb-headset-7' } }],
    ["the system's default when none is chosen", null, true],
  ] as const)('asks for %s', async (_what, device, audio) => {
    stubMicrophone();
    useSupervisionStore.setState({ lead: { supervisionId: 's-1', callId: 'c-1@x', operatorId: 'op-1', mode: 'monitor', status: 'listening', error: null, operatorConnected: true } });
    await new LeadSupervision(() => device).switchMode('whisper');
    expect(asked).toEqual([{ audio, video: false }]);
    // the refusal is shown, the monitor goes on
    expect(useSupervisionStore.getState().lead).toMatchObject({ status: 'listening', mode: 'monitor' });
    expect(useSupervisionStore.getState().lead!.error).not.toBeNull();
  });
});
