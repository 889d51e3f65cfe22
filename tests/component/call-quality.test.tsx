// Issue 18 item 7, the call-quality badge: the phone's WebRTC statistics of an answered call,
// sampled every 2 s, shown as 良好 / 普通 / 不良 with the MOS estimate and the figures behind it,
// and sent to the gateway (the lead's board) every third sample. The SIP layer is the fake of
// phone-fakes.ts, given getStats()-shaped readings; the E-model itself: tests/unit/shared-rules.
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { render } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAgentStore } from '../../renderer/src/features/phone/agent-store';
import { CallQuality } from '../../renderer/src/features/phone/CallQuality';
import { QUALITY_SAMPLE_MS, useQualityStore } from '../../renderer/src/features/phone/quality';
import { createI18n } from '../../renderer/src/i18n';
import type { CallInfo } from '../../renderer/src/features/phone/sip-phone';
import type { StatsEntry } from '../../shared/rules/call-quality';
import { fakeKoe } from './phone-fakes';
import { mountShell, resetShellStores, unmountShell } from './shell-harness';

beforeEach(() => {
  resetShellStores();
  vi.stubGlobal('fetch', async () => ({ ok: true, status: 200, json: async () => ({}) }));
});
afterEach(() => {
  unmountShell();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** A getStats() reading: what we received and lost so far, jitter in s, the RTCP round trip in s. */
const reading = (lost: number, received: number, jitter: number, rtt: number): StatsEntry[] => [
  { type: 'codec', id: 'c0', mimeType: 'audio/PCMU' },
  { type: 'inbound-rtp', kind: 'audio', codecId: 'c0', packetsLost: lost, packetsReceived: received, jitter },
  { type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: rtt, fractionLost: 0 },
];

describe('the call-quality badge', () => {
  function show(figures: { mos: number; jitterMs: number; lossPct: number; rttMs: number | null }, language: 'ja' | 'en' = 'ja') {
    useQualityStore.setState({ byCall: { c1: figures } });
    render(
      <I18nextProvider i18n={createI18n(language)}>
        <CallQuality callId="c1" />
      </I18nextProvider>,
    );
    return screen.getByTestId('call-quality');
  }

  it('good: 良好 and the MOS; opened, the figures', async () => {
    const badge = show({ mos: 4.312, jitterMs: 4.4, lossPct: 0, rttMs: 38 });
    expect(badge.dataset.level).toBe('good');
    const summary = within(badge).getByText(/良好/);
    expect(summary.textContent).toBe('良好 4.3');
    // its accessible name holds the visible text as written (WCAG 2.5.3 label in name)
    expect(summary.getAttribute('aria-label')).toBe('通話品質: 良好 4.3 (MOS)');
    await userEvent.click(summary);
    expect((badge as HTMLDetailsElement).open).toBe(true);
    expect(within(badge).getByTestId('call-quality-details').textContent).toBe('推定MOS 4.31・ジッター 4 ms・損失 0.0%・往復遅延 38 ms');
  });

  it('fair past a threshold even with a fair MOS (loss over 3 %); poor under MOS 3.1; English too', () => {
    expect(show({ mos: 3.9, jitterMs: 5, lossPct: 4.2, rttMs: null }).dataset.level).toBe('fair');
    expect(screen.getByTestId('call-quality-details').textContent).toContain('往復遅延 不明 ms');
    unmountShell();
    document.body.innerHTML = '';
    const poor = show({ mos: 2.8, jitterMs: 60, lossPct: 12, rttMs: 420 }, 'en');
    expect(poor.dataset.level).toBe('poor');
    expect(poor.querySelector('summary')!.getAttribute('aria-label')).toBe('Call quality: Poor 2.8 (MOS)');
  });

  it('nothing before the first figures', () => {
    render(
      <I18nextProvider i18n={createI18n('ja')}>
        <CallQuality callId="none" />
      </I18nextProvider>,
    );
    expect(screen.queryByTestId('call-quality')).toBeNull();
  });
});

describe('the quality monitor of an answered call', () => {
  it('samples every 2 s from the phone\'s statistics, reports to the gateway every third sample, and forgets the call when it ends', async () => {
    const koe = fakeKoe();
    const phone = await mountShell(koe.api, koe.gw);
    await waitFor(() => expect(useAgentStore.getState().view?.agent).toBe('ready'));
    const readings = [reading(0, 100, 0.004, 0.04), reading(0, 200, 0.004, 0.04), reading(12, 288, 0.035, 0.04), reading(12, 388, 0.004, 0.04)];
    let n = 0;
    Object.assign(phone, { stats: async () => readings[Math.min(n++, readings.length - 1)]! });
    let call!: CallInfo;
    act(() => void (call = phone.ring()));
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    await userEvent.click(await screen.findByTestId('answer'));
    await waitFor(() => expect(screen.getByTestId('call').dataset.phase).toBe('established'));
    const tick = async () => {
      await act(async () => void vi.advanceTimersByTime(QUALITY_SAMPLE_MS));
    };
    await tick();
    await waitFor(() => expect(useQualityStore.getState().byCall[call.id]?.jitterMs).toBe(4));
    const quality = () => koe.gw.received.filter((i) => i.kind === 'quality');
    expect(quality()).toEqual([{ kind: 'quality', callId: call.sipCallId, mos: expect.any(Number), jitterMs: 4, lossPct: 0, rttMs: 40 }]);
    expect(quality()[0]!.kind === 'quality' && quality()[0]!.mos).toBeGreaterThan(4.3);
    // the badge in the call's controls
    expect(within(screen.getByTestId('call')).getByTestId('call-quality').dataset.level).toBe('good');
    await tick();
    await tick(); // 12 lost of 100 in this interval, 35 ms of jitter
    await waitFor(() => expect(useQualityStore.getState().byCall[call.id]?.lossPct).toBe(12));
    expect(within(screen.getByTestId('call')).getByTestId('call-quality').dataset.level).toBe('poor');
    expect(quality()).toHaveLength(1); // not every sample goes to the gateway
    await tick();
    await waitFor(() => expect(quality()).toHaveLength(2));
    expect(useQualityStore.getState().byCall[call.id]?.lossPct).toBe(0); // the loss of the interval, not of the call
    act(() => phone.phase(call.id, 'ended'));
    await waitFor(() => expect(useQualityStore.getState().byCall[call.id]).toBeUndefined());
    await tick();
    expect(quality()).toHaveLength(2);
  });
});
