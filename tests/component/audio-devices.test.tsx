// Issue 18 item 7, audio: the ringer device (the ring on the speakers while the headset is idle),
// kept with the other device choices, and the microphone test with its level meter. The SIP
// layer and main are the fakes of phone-fakes.ts; Web Audio and the media devices are fakes here
// (the sound itself is proven in Chromium by the e2e tests).
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { MIC_TEST_MS, MicTest, rmsDbfs } from '../../renderer/src/features/phone/MicTest';
import { createI18n } from '../../renderer/src/i18n';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';
import { FakeNode } from '../support/fake-audio-nodes';

/** What the fake microphone hears: the amplitude of a square wave (0: silence). */
let amplitude = 0;
const contexts: FakeContext[] = [];
class FakeContext {
  currentTime = 0;
  destination = new FakeNode();
  sinkId = '';
  sinks: string[] = [];
  closed = false;
  constructor() {
    contexts.push(this);
  }
  async suspend() {}
  async resume() {}
  async close() {
    this.closed = true;
  }
  async setSinkId(id: string) {
    this.sinkId = id;
    this.sinks.push(id);
  }
  createGain() {
    return new FakeNode();
  }
  createOscillator() {
    return new FakeNode();
  }
  createMediaStreamSource() {
    return new FakeNode();
  }
  createAnalyser() {
    return {
      fftSize: 2048,
      getFloatTimeDomainData(buf: Float32Array) {
        for (let i = 0; i < buf.length; i++) buf[i] = i % 2 ? amplitude : -amplitude;
      },
    };
  }
}

const stopped: string[] = [];
let gum: (c: MediaStreamConstraints) => Promise<unknown>;
function installMedia() {
  gum = async (c) => {
    const id = JSON.stringify(c.audio);
    return { getTracks: () => [{ stop: () => stopped.push(id) }] };
  };
  Object.defineProperty(navigator, 'mediaDevices', {
    configurable: true,
    value: {
      enumerateDevices: async () => [
        { kind: 'audioinput', deviceId: 'headset-mic', label: 'Headset microphone' },
        { kind: 'audiooutput', deviceId: 'default', label: 'Default - Speakers' },
        { kind: 'audiooutput', deviceId: 'headset', label: 'Headset' },
        { kind: 'audiooutput', deviceId: 'speakers', label: 'Speakers' },
      ],
      getUserMedia: (c: MediaStreamConstraints) => gum(c),
      addEventListener: () => {},
      removeEventListener: () => {},
    },
  });
}

beforeEach(() => {
  resetShellStores();
  amplitude = 0;
  contexts.length = 0;
  stopped.length = 0;
  vi.stubGlobal('AudioContext', FakeContext);
  vi.stubGlobal('fetch', async () => ({ ok: true, status: 200, json: async () => ({}) }));
  installMedia();
});
afterEach(() => {
  unmountShell();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  delete (navigator as unknown as Record<string, unknown>).mediaDevices;
});

async function mount() {
  const koe = fakeKoe();
  const phone = await mountShell(koe.api, koe.gw);
  await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
  return { koe, phone };
}

/** The ring's AudioContext (the ringtone's; the microphone test makes its own). */
const ringContext = () => contexts[0]!;

describe('the ringer device', () => {
  it('rings on the speaker chosen for calls while no ringer device is chosen', async () => {
    const { koe, phone } = await mount();
    const devices = screen.getByTestId('device-settings');
    const ringer = within(devices).getByLabelText('着信音') as HTMLSelectElement;
    await waitFor(() => expect(within(ringer).getAllByRole('option').map((o) => o.textContent)).toEqual(['スピーカーと同じ', 'Default - Speakers', 'Headset', 'Speakers']));
    expect(ringer.value).toBe('');
    await userEvent.selectOptions(within(devices).getByLabelText('スピーカー'), 'headset');
    act(() => void phone.ring());
    await screen.findByTestId('answer');
    expect(ringContext().sinkId).toBe('headset');
    // main is told (it alerts through the OS when the window is not in front), and told when it stops
    await waitFor(() => expect(koe.calls).toContain('phone.ringing sip-1@test true'));
    await userEvent.click(screen.getByTestId('answer'));
    await waitFor(() => expect(koe.calls).toContain('phone.ringing sip-1@test false'));
  });

  it('rings on the ringer device once chosen (the call stays on its speaker); the choice is kept by main; a change while ringing moves the ring', async () => {
    const { koe, phone } = await mount();
    const devices = screen.getByTestId('device-settings');
    const ringer = within(devices).getByLabelText('着信音') as HTMLSelectElement;
    await waitFor(() => expect(within(ringer).getAllByRole('option')).toHaveLength(4));
    await userEvent.selectOptions(within(devices).getByLabelText('スピーカー'), 'headset');
    await userEvent.selectOptions(ringer, 'speakers');
    expect(koe.calls).toContain(`setAudioDevices ${JSON.stringify({ inputDeviceId: null, outputDeviceId: 'headset', ringerDeviceId: 'speakers' })}`);
    expect(phone.log).toContain('devices null headset');
    act(() => void phone.ring());
    await screen.findByTestId('answer');
    expect(ringContext().sinkId).toBe('speakers');
    await userEvent.selectOptions(ringer, 'default');
    await waitFor(() => expect(ringContext().sinkId).toBe('default'));
  });
});

describe('the microphone test', () => {
  function renderTest(deviceId: string | null = 'headset-mic') {
    return render(
      <I18nextProvider i18n={createI18n('ja')}>
        <MicTest deviceId={deviceId} />
      </I18nextProvider>,
    );
  }

  it('rmsDbfs: full-scale is 0 dBFS, 0.1 is -20 dBFS, silence is the floor', () => {
    expect(rmsDbfs(new Float32Array([1, -1, 1, -1]))).toBeCloseTo(0);
    expect(rmsDbfs(new Float32Array([0.1, -0.1]))).toBeCloseTo(-20);
    expect(rmsDbfs(new Float32Array(8))).toBe(-60);
  });

  it('opens the chosen microphone, shows its level, says when a voice is heard, and closes it when ended', async () => {
    renderTest();
    await userEvent.click(screen.getByRole('button', { name: 'マイクをテスト' }));
    const meter = await screen.findByRole('meter', { name: 'マイクの入力レベル' });
    await waitFor(() => expect(meter.getAttribute('aria-valuetext')).toBe('音声がありません'));
    expect(screen.getByTestId('mic-test-message').textContent).toBe('話してみてください…');

    amplitude = 0.1; // a voice at -20 dBFS
    await waitFor(() => expect(meter.getAttribute('aria-valuenow')).toBe('-20'));
    expect(meter.getAttribute('aria-valuetext')).toBe('入力 -20 dBFS');
    expect(screen.getByTestId('mic-test-message').textContent).toBe('音声を検出しました');
    amplitude = 0; // once heard, it stays said
    await waitFor(() => expect(meter.getAttribute('aria-valuenow')).toBe('-60'));
    expect(screen.getByTestId('mic-test-message').textContent).toBe('音声を検出しました');

    expect(stopped).toEqual([]);
    await userEvent.click(screen.getByRole('button', { name: 'テストを終了' }));
    expect(stopped).toEqual([JSON.stringify({ deviceId: { exact: 'headset-mic' } })]);
    expect(contexts[0]!.closed).toBe(true);
    expect(screen.queryByRole('meter')).toBeNull();
  });

  it('room noise below the threshold is not a voice', async () => {
    renderTest(null);
    amplitude = 0.003; // about -50 dBFS
    await userEvent.click(screen.getByRole('button', { name: 'マイクをテスト' }));
    const meter = await screen.findByRole('meter');
    await waitFor(() => expect(meter.getAttribute('aria-valuenow')).toBe('-50'));
    expect(screen.getByTestId('mic-test-message').textContent).toBe('話してみてください…');
  });

  it('stops by itself after 15 s, and when closed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const view = renderTest();
    await act(async () => void fireEvent.click(screen.getByRole('button', { name: 'マイクをテスト' })));
    expect(screen.getByRole('meter')).toBeTruthy();
    act(() => void vi.advanceTimersByTime(MIC_TEST_MS - 200));
    expect(stopped).toHaveLength(0);
    act(() => void vi.advanceTimersByTime(400));
    expect(stopped).toHaveLength(1);
    expect(screen.queryByRole('meter')).toBeNull();
    expect(screen.getByRole('button', { name: 'マイクをテスト' })).toBeTruthy();

    await act(async () => void fireEvent.click(screen.getByRole('button', { name: 'マイクをテスト' })));
    expect(stopped).toHaveLength(1);
    view.unmount(); // the fold, the screen or the session closed
    expect(stopped).toHaveLength(2);
  });

  it('a microphone that is not allowed says so in the operator\'s language', async () => {
    gum = async () => {
      throw Object.assign(new Error('denied'), { name: 'NotAllowedError' });
    };
    renderTest();
    await userEvent.click(screen.getByRole('button', { name: 'マイクをテスト' }));
    await waitFor(() => expect(screen.getByTestId('mic-test-message').textContent).toBe('マイクを開けませんでした（マイクの使用が許可されていません）。'));
    expect(screen.queryByRole('meter')).toBeNull();
  });

  it('refuses politely during a call, and a call that starts ends the test', async () => {
    const { phone } = await mount();
    const devices = screen.getByTestId('device-settings');
    await userEvent.click(within(devices).getByRole('button', { name: 'マイクをテスト' }));
    await within(devices).findByRole('meter');
    act(() => void phone.ring());
    await screen.findByTestId('answer');
    // the microphone goes back at once: the call will need it
    await waitFor(() => expect(within(devices).queryByRole('meter')).toBeNull());
    expect(stopped).toHaveLength(1);
    await userEvent.click(screen.getByTestId('answer'));
    await userEvent.click(within(devices).getByRole('button', { name: 'マイクをテスト' }));
    expect(within(devices).getByTestId('mic-test-message').textContent).toBe('通話中はマイクをテストできません。通話の後にお試しください。');
    expect(within(devices).queryByRole('meter')).toBeNull();
  });
});
