// Issue 16 items 3, 5, 7 in the app (renderer/src/features/recordings): the player (keyboard,
// speed, secure-capture gap markers, no download control, ja/en, capability renewal, a
// tampered recording reported not played), the lists shown only with recordings:play, and
// the operator's secure-capture toggle shown only while the call is recorded.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createI18n } from '../../renderer/src/i18n';
import { setFailureSink } from '../../renderer/src/log';
import { useSessionStore } from '../../renderer/src/app/session-store';
import { RecordingPlayer } from '../../renderer/src/features/recordings/RecordingPlayer';
import { CustomerCallHistory, RecentRecordings } from '../../renderer/src/features/recordings/RecordingLists';
import { LIVE_POLL_MS, SecureCaptureControl } from '../../renderer/src/features/recordings/SecureCapture';
import { GatewayCallError } from '../../shared/gateway-client';
import { RecordingsApiContext, type RecordingsApi } from '../../renderer/src/features/recordings/recordings-api';
import { RecordingStream } from '../../renderer/src/features/recordings/recording-stream';
import type { AudioOut, AudioSourceLike } from '../../renderer/src/features/recordings/pcm-player';
import type { RecordingView } from '../../shared/gateway/recordings';
import type { CallView } from '../../shared/gateway/crm';
import type { SessionState } from '../../shared/ipc/contract';

const RATE = 8000;
const DURATION_MS = 60_000;
const PCM_BYTES = (DURATION_MS / 1000) * RATE * 4;
const WAV_BYTES = 44 + PCM_BYTES;
const REC_ID = '11111111-1111-4111-8111-111111111111';

const recording = (over: Partial<RecordingView> = {}): RecordingView => ({
  id: REC_ID, callId: 'call-1@test', campaignId: null, operatorId: '22222222-2222-4222-8222-222222222222', status: 'complete',
  startedAt: '2026-04-01T01:00:00.000Z', endedAt: '2026-04-01T01:01:00.000Z', durationMs: DURATION_MS,
  channels: { left: 'customer', right: 'operator' }, gaps: [{ startMs: 12_000, endMs: 30_000, reason: 'secure_capture' }], legalHold: false, ...over,
});

/** A sample value known per frame: frame n holds n & 0x7fff on the left, -(n & 0x7fff) on the right. */
function wavRange(start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start + 1);
  for (let b = start; b <= end; b++) {
    if (b < 44) {
      out[b - start] = 0;
      continue;
    }
    const off = b - 44;
    const frame = Math.floor(off / 4);
    const v = (off % 4 < 2 ? frame & 0x7fff : -(frame & 0x7fff)) & 0xffff;
    out[b - start] = off % 2 === 0 ? v & 0xff : v >> 8;
  }
  return out;
}

class FakeAudio implements AudioOut {
  currentTime = 0;
  destination = {};
  sources: (AudioSourceLike & { when: number; frames: number; first: number; stopped: boolean })[] = [];
  closed = false;
  createBuffer(_ch: number, length: number) {
    const data = [new Float32Array(length), new Float32Array(length)];
    return { getChannelData: (c: number) => data[c]!, length };
  }
  createBufferSource() {
    const s = {
      buffer: null as unknown,
      playbackRate: { value: 1 },
      onended: null as (() => void) | null,
      when: -1,
      frames: 0,
      first: 0,
      stopped: false,
      connect: () => undefined,
      disconnect: () => undefined,
      start(when: number) {
        s.when = when;
        const b = s.buffer as { length: number; getChannelData(c: number): Float32Array };
        s.frames = b.length;
        s.first = Math.round(b.getChannelData(0)[0]! * 32768);
      },
      stop() {
        s.stopped = true;
      },
    };
    this.sources.push(s);
    return s;
  }
  resume = async () => undefined;
  close = async () => {
    this.closed = true;
  };
}

interface World {
  api: RecordingsApi;
  audio: FakeAudio;
  grants: number;
  ranges: string[];
  /** What the stream answers next (status), by request; default 206. */
  answers: number[];
  secure: { callId: string; paused: boolean }[];
  live: { recording: boolean; paused: boolean } | Error;
  /** The stream holds only this many bytes (a recording shorter than announced). */
  truncateAt: number;
}

function world(): World {
  const w: World = {
    audio: new FakeAudio(),
    grants: 0,
    ranges: [],
    answers: [],
    secure: [],
    live: { recording: false, paused: false },
    truncateAt: WAV_BYTES,
    api: null as unknown as RecordingsApi,
  };
  w.api = {
    byCustomer: async () => [recording()],
    recent: async () => [recording(), recording({ id: '33333333-3333-4333-8333-333333333333', callId: 'call-2@test', gaps: [] })],
    stream: (id) =>
      new RecordingStream(id, {
        grant: async () => {
          w.grants++;
          return { recordingId: id, capability: `cap${w.grants}.x`, expiresAt: new Date().toISOString(), streamPath: `/recordings/${id}/stream?cap=cap${w.grants}.x`, durationMs: DURATION_MS, wavBytes: WAV_BYTES };
        },
        baseUrl: () => 'http://gw.test',
        accessToken: async () => 'token',
        fetch: async (_url, init) => {
          const range = String((init.headers as Record<string, string>).range);
          w.ranges.push(range);
          expect(init.cache).toBe('no-store');
          const status = w.answers.shift() ?? 206;
          if (status !== 206) return new Response(JSON.stringify({ error: { code: 'x', message: 'x' } }), { status });
          const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(range)!;
          const start = Number(a);
          const end = Math.min(Number(b), w.truncateAt - 1);
          if (end < start) return new Response(JSON.stringify({ error: { code: 'range_not_satisfiable', message: 'x' } }), { status: 416, headers: { 'content-range': `bytes */${w.truncateAt}` } });
          return new Response(wavRange(start, end).buffer as ArrayBuffer, { status: 206, headers: { 'content-range': `bytes ${start}-${end}/${WAV_BYTES}` } });
        },
      }),
    makeAudio: () => w.audio,
    liveState: async () => {
      if (w.live instanceof Error) throw w.live;
      return w.live;
    },
    secureCapture: async (callId, paused) => {
      w.secure.push({ callId, paused });
      return { recording: true, paused };
    },
  };
  return w;
}

function mountPlayer(w: World, language: 'ja' | 'en' = 'ja', rec = recording()) {
  const onClose = vi.fn();
  const view = render(
    <I18nextProvider i18n={createI18n(language)}>
      <RecordingsApiContext.Provider value={w.api}>
        <RecordingPlayer recording={rec} label="2026/4/1 10:00" onClose={onClose} />
      </RecordingsApiContext.Provider>
    </I18nextProvider>,
  );
  const player = screen.getByTestId('recording-player');
  const slider = screen.getByRole('slider');
  return { view, player, slider, onClose, pos: () => Number(player.getAttribute('data-position-ms')), status: () => player.getAttribute('data-status') };
}

const failures: string[] = [];
beforeEach(() => {
  failures.length = 0;
  setFailureSink((what, name) => failures.push(`${what}: ${name}`));
});
afterEach(() => setFailureSink(() => undefined));

describe('the recordings player', () => {
  it('keyboard: ←/→ move 5 s, ↑/↓ too, Home/End go to the ends, never past them; position read out in words (ja)', async () => {
    const w = world();
    const { slider, pos } = mountPlayer(w);
    slider.focus();
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    expect(pos()).toBe(5_000);
    fireEvent.keyDown(slider, { key: 'ArrowUp' });
    expect(pos()).toBe(10_000);
    fireEvent.keyDown(slider, { key: 'ArrowLeft' });
    expect(pos()).toBe(5_000);
    fireEvent.keyDown(slider, { key: 'ArrowDown' });
    fireEvent.keyDown(slider, { key: 'ArrowDown' });
    expect(pos()).toBe(0);
    fireEvent.keyDown(slider, { key: 'End' });
    expect(pos()).toBe(60_000);
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    expect(pos()).toBe(60_000);
    expect(slider.getAttribute('aria-valuetext')).toBe('1分0秒／全1分0秒');
    fireEvent.keyDown(slider, { key: 'Home' });
    expect(pos()).toBe(0);
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    expect(slider.getAttribute('aria-valuenow')).toBe('35');
    expect(slider.getAttribute('aria-valuetext')).toBe('35秒／全1分0秒');
    expect(screen.getByTestId('rp-time').textContent).toBe('0:35 / 1:00');
    expect(w.ranges).toEqual([]); // seeking while paused fetches nothing
  });

  it('plays from the playhead: Space starts it, the first range starts at the frame of the position, and a seek while playing restarts the feed there', async () => {
    const w = world();
    const { slider, status } = mountPlayer(w);
    fireEvent.keyDown(slider, { key: 'ArrowRight' }); // 5 s
    fireEvent.keyDown(slider, { key: ' ' });
    await waitFor(() => expect(status()).toBe('playing'));
    const first = 44 + 5 * RATE * 4;
    expect(w.ranges[0]).toBe(`bytes=${first}-${first + 0.5 * RATE * 4 - 1}`);
    expect(w.audio.sources[0]!.first).toBe((5 * RATE) & 0x7fff); // the left channel of frame 40000
    expect(w.ranges.every((r) => !r.startsWith('bytes=0-'))).toBe(true); // the header is never fetched
    fireEvent.keyDown(slider, { key: 'End' });
    fireEvent.keyDown(slider, { key: 'Home' });
    await waitFor(() => expect(w.ranges).toContain(`bytes=44-${44 + 0.5 * RATE * 4 - 1}`));
    await waitFor(() => expect(w.audio.sources.some((s) => s.first === 0 && !s.stopped)).toBe(true));
    // everything scheduled before the seek was stopped
    const before = w.audio.sources.filter((s) => s.first === ((5 * RATE) & 0x7fff));
    expect(before.every((s) => s.stopped)).toBe(true);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    expect(status()).toBe('paused');
    expect(w.audio.sources.every((s) => s.stopped)).toBe(true);
  });

  it('speed: exactly 0.75 / 1 / 1.25 / 1.5 / 2, applied to the audio; the position keeps counting in recording time', async () => {
    const w = world();
    const { status, player } = mountPlayer(w, 'en');
    const select = screen.getByLabelText('Speed') as HTMLSelectElement;
    expect([...select.options].map((o) => [o.value, o.textContent])).toEqual([
      ['0.75', '0.75×'], ['1', '1×'], ['1.25', '1.25×'], ['1.5', '1.5×'], ['2', '2×'],
    ]);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(status()).toBe('playing'));
    expect(w.audio.sources.at(-1)!.playbackRate.value).toBe(1);
    fireEvent.change(select, { target: { value: '1.5' } });
    expect(player.getAttribute('data-rate')).toBe('1.5');
    await waitFor(() => expect(w.audio.sources.filter((s) => !s.stopped).length).toBeGreaterThan(0));
    const live = w.audio.sources.filter((s) => !s.stopped);
    expect(live.every((s) => s.playbackRate.value === 1.5)).toBe(true);
    // 2 s of context time at 1.5x is 3 s of recording
    const anchor = live[0]!.when;
    w.audio.currentTime = anchor + 2;
    await new Promise((r) => setTimeout(r, 260));
    expect(Number(player.getAttribute('data-position-ms'))).toBe(3_000);
  });

  it('marks the secure-capture and DTMF gaps on the bar where they are and lists them in words, each with its reason (ja and en)', () => {
    const w = world();
    const rec = recording({
      gaps: [{ startMs: 12_000, endMs: 30_000, reason: 'secure_capture' }, { startMs: 36_000, endMs: 39_000, reason: 'dtmf' }, { startMs: 45_000, endMs: 48_000, reason: 'secure_capture' }],
    });
    const ja = mountPlayer(w, 'ja', rec);
    const marks = screen.getAllByTestId('rp-gap');
    expect(marks.map((m) => [m.style.left, m.style.width, m.getAttribute('data-reason')])).toEqual([['20%', '30%', 'secure_capture'], ['60%', '5%', 'dtmf'], ['75%', '5%', 'secure_capture']]);
    expect(marks[1]!.title).toBe('0:36〜0:39 はダイヤル入力を消音しました（番号を伏せています）');
    expect(within(screen.getByTestId('rp-gap-list')).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      '0:12〜0:30 は録音を停止していました（カード情報）',
      '0:36〜0:39 はダイヤル入力を消音しました（番号を伏せています）',
      '0:45〜0:48 は録音を停止していました（カード情報）',
    ]);
    expect(screen.getByRole('list', { name: '無音区間（セキュアキャプチャ・ダイヤル入力）' })).toBeTruthy();
    ja.view.unmount();
    mountPlayer(w, 'en', rec);
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'Recording paused from 0:12 to 0:30 (card details)',
      'Keypad entry silenced from 0:36 to 0:39 (digits masked)',
      'Recording paused from 0:45 to 0:48 (card details)',
    ]);
  });

  it('offers no way to save the audio: no media element, no download link or button, no context menu', () => {
    const w = world();
    for (const lang of ['ja', 'en'] as const) {
      const { view, player } = mountPlayer(w, lang);
      expect(view.container.querySelectorAll('audio, video, a, [download], object, embed, iframe')).toHaveLength(0);
      const labels = [...player.querySelectorAll('button, select, [role=slider]')].map((e) => `${e.textContent} ${e.getAttribute('aria-label') ?? ''}`);
      expect(labels.join('|')).not.toMatch(/download|save|保存|ダウンロード|書き出/i);
      const menu = new MouseEvent('contextmenu', { bubbles: true, cancelable: true });
      player.dispatchEvent(menu);
      expect(menu.defaultPrevented).toBe(true);
      view.unmount();
    }
    expect(w.audio.closed).toBe(false); // never opened: nothing played
  });

  it('labels everything in ja and in en', () => {
    const w = world();
    const ja = mountPlayer(w, 'ja');
    expect(screen.getByRole('button', { name: '再生' })).toBeTruthy();
    expect(screen.getByRole('slider', { name: '再生位置' })).toBeTruthy();
    expect(screen.getByLabelText('再生速度')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'プレーヤーを閉じる' })).toBeTruthy();
    expect(screen.getByText(/保存できません/)).toBeTruthy();
    ja.view.unmount();
    mountPlayer(w, 'en');
    expect(screen.getByRole('button', { name: 'Play' })).toBeTruthy();
    expect(screen.getByRole('slider', { name: 'Position' }).getAttribute('aria-valuetext')).toBe('0 s of 1 min 0 s');
    expect(screen.getByText(/cannot be saved/)).toBeTruthy();
  });

  it('an expired capability is renewed once, transparently; refused again, it says so', async () => {
    const w = world();
    w.answers = [403];
    const a = mountPlayer(w);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(a.status()).toBe('playing'));
    expect(w.grants).toBe(2);
    expect(screen.queryByTestId('rp-error')).toBeNull();
    a.view.unmount();

    const w2 = world();
    w2.answers = [403, 403];
    const b = mountPlayer(w2, 'en');
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(b.status()).toBe('error'));
    expect(w2.grants).toBe(2);
    expect(screen.getByTestId('rp-error').getAttribute('data-code')).toBe('forbidden');
    expect(screen.getByRole('alert').textContent).toBe('Playback was not authorised. Please try again.');
  });

  it('a tampered recording (the gateway answers 500) is reported and not played: "this recording cannot be played", logged', async () => {
    const w = world();
    w.answers = [500];
    const { status } = mountPlayer(w);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(status()).toBe('error'));
    expect(screen.getByRole('alert').textContent).toBe('この録音は再生できません（報告済み）。');
    expect(w.audio.sources).toHaveLength(0);
    expect(w.grants).toBe(1); // not a capability problem: no renewal
    expect(failures).toEqual(['playing a recording (unplayable): StreamError']);
  });

  it('a recording gone or out of scope (404) says so; the gateway unreachable says so', async () => {
    const w = world();
    w.answers = [404];
    const a = mountPlayer(w, 'en');
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(a.status()).toBe('error'));
    expect(screen.getByTestId('rp-error').getAttribute('data-code')).toBe('gone');
    a.view.unmount();
    const w2 = world();
    const stream = w2.api.stream;
    w2.api = { ...w2.api, stream: (id) => Object.assign(stream(id), { range: async () => Promise.reject(new TypeError('Failed to fetch')) }) };
    const b = mountPlayer(w2, 'en');
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(b.status()).toBe('error'));
    expect(failures.at(-1)).toBe('playing a recording (unplayable): TypeError');
  });

  it('a stream shorter than announced ends where the audio ends (never "playing" forever)', async () => {
    const w = world();
    w.truncateAt = 44 + 2 * RATE * 4;
    const { status, pos } = mountPlayer(w);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(status()).toBe('playing'));
    w.audio.currentTime = 10;
    await waitFor(() => expect(status()).toBe('ended'));
    expect(pos()).toBe(2_000);
    expect(screen.getByTestId('rp-time').textContent).toBe('0:02 / 0:02');
  });

  it('closing the player (unmount) stops the audio and closes the audio context', async () => {
    const w = world();
    const { view, status } = mountPlayer(w);
    fireEvent.click(screen.getByTestId('rp-toggle'));
    await waitFor(() => expect(status()).toBe('playing'));
    view.unmount();
    expect(w.audio.sources.every((s) => s.stopped)).toBe(true);
    expect(w.audio.closed).toBe(true);
  });
});

const signedIn = (permissions: string[]): SessionState => ({
  status: 'signed-in',
  user: { id: '44444444-4444-4444-8444-444444444444', username: 'lead-a', displayName: '佐藤 花子', role: 'team_lead', permissions },
  device: null,
  totpEnrolmentRequired: false,
  passwordChangeRequired: false,
  absoluteExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
});

const call = (callId: string, id: string): CallView => ({
  id, callId, campaignId: null, customerId: null, operatorId: null, callerNumber: null, dialledNumber: null, blocked: false, status: 'wrapped_up',
  ringingAt: '2026-04-01T01:00:00.000Z', answeredAt: null, endedAt: null, disposition: '完了', wrapUpSeconds: null, updatedAt: '2026-04-01T01:05:00.000Z',
});

describe('where recordings appear', () => {
  function mountLists(w: World, permissions: string[], language: 'ja' | 'en' = 'ja') {
    useSessionStore.setState({ session: signedIn(permissions) } as never);
    return render(
      <I18nextProvider i18n={createI18n(language)}>
        <RecordingsApiContext.Provider value={w.api}>
          <CustomerCallHistory customerId="55555555-5555-4555-8555-555555555555" calls={[call('call-1@test', '66666666-6666-4666-8666-666666666666'), call('call-9@test', '77777777-7777-4777-8777-777777777777')]} />
          <RecentRecordings names={new Map([['22222222-2222-4222-8222-222222222222', '山田 花子']])} />
        </RecordingsApiContext.Provider>
      </I18nextProvider>,
    );
  }

  it('with recordings:play: a play button on the call that has a recording (not the other), the lead\'s recent list, one player at a time', async () => {
    const w = world();
    mountLists(w, ['recordings:play', 'team:supervise']);
    const calls = await screen.findAllByTestId('customer-call');
    await waitFor(() => expect(within(calls[0]!).queryByTestId('recording-play')).not.toBeNull());
    expect(within(calls[1]!).queryByTestId('recording-play')).toBeNull();
    const recent = await screen.findAllByTestId('recent-recording');
    expect(recent).toHaveLength(2);
    expect(recent[0]!.textContent).toContain('山田 花子');
    fireEvent.click(within(calls[0]!).getByTestId('recording-play'));
    expect(screen.getAllByTestId('recording-player')).toHaveLength(1);
    expect(within(calls[0]!).getByTestId('recording-play').getAttribute('aria-expanded')).toBe('true');
    fireEvent.click(screen.getByTestId('rp-close'));
    expect(screen.queryByTestId('recording-player')).toBeNull();
  });

  it('without recordings:play: no play button, no recent list, and the gateway is not asked', async () => {
    const w = world();
    const asked = vi.fn(async () => [recording()]);
    w.api = { ...w.api, byCustomer: asked, recent: asked };
    mountLists(w, ['calls:handle', 'team:supervise']);
    expect(await screen.findAllByTestId('customer-call')).toHaveLength(2);
    await act(async () => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByTestId('recording-play')).toBeNull();
    expect(screen.queryByTestId('recent-recordings')).toBeNull();
    expect(asked).not.toHaveBeenCalled();
  });
});

describe('the operator\'s secure-capture toggle', () => {
  function mountToggle(w: World, language: 'ja' | 'en', established = true) {
    return render(
      <I18nextProvider i18n={createI18n(language)}>
        <RecordingsApiContext.Provider value={w.api}>
          <SecureCaptureControl sipCallId="live-1@test" established={established} />
        </RecordingsApiContext.Provider>
      </I18nextProvider>,
    );
  }

  it('is not shown while the call is not recorded, nor on "no such call" (404, not logged), nor when the gateway fails (logged)', async () => {
    const w = world();
    const a = mountToggle(w, 'ja');
    await act(async () => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByTestId('secure-capture')).toBeNull();
    a.unmount();
    w.live = new GatewayCallError('not_found', 'no such call', 404);
    const b = mountToggle(w, 'ja');
    await act(async () => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByTestId('secure-capture')).toBeNull();
    expect(failures).toEqual([]);
    b.unmount();
    w.live = new GatewayCallError('unreachable', 'down');
    mountToggle(w, 'ja');
    await act(async () => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByTestId('secure-capture')).toBeNull();
    expect(failures).toEqual(['asking whether the call is recorded: GatewayCallError']);
  });

  it('appears when the gateway starts recording (polled), disappears when it stops', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const w = world();
      mountToggle(w, 'en');
      await act(async () => vi.advanceTimersByTimeAsync(10));
      expect(screen.queryByTestId('secure-capture')).toBeNull();
      w.live = { recording: true, paused: false };
      await act(async () => vi.advanceTimersByTimeAsync(LIVE_POLL_MS));
      expect(screen.getByRole('button', { name: 'Secure capture (card details)' })).toBeTruthy();
      expect(screen.getByRole('status').textContent).toBe('● Recording');
      w.live = { recording: false, paused: false };
      await act(async () => vi.advanceTimersByTimeAsync(LIVE_POLL_MS));
      expect(screen.queryByTestId('secure-capture')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('while recorded: pauses and resumes through the API, its state visible and pressed (ja), keyboard-operable', async () => {
    const w = world();
    w.live = { recording: true, paused: false };
    mountToggle(w, 'ja');
    const button = await screen.findByRole('button', { name: 'セキュアキャプチャ開始（カード情報）' });
    expect(button.getAttribute('aria-pressed')).toBe('false');
    expect(screen.getByRole('status').textContent).toBe('● 録音中');
    button.focus();
    expect(document.activeElement).toBe(button);
    fireEvent.click(button); // a native button: Enter and Space click it
    // busy while the gateway answers, but not disabled: a disabled button drops the keyboard focus in Chromium
    expect(button.getAttribute('aria-disabled')).toBe('true');
    expect(button.hasAttribute('disabled')).toBe(false);
    await screen.findByRole('button', { name: '録音を再開' });
    expect(w.secure).toEqual([{ callId: 'live-1@test', paused: true }]);
    expect(screen.getByRole('button', { name: '録音を再開' }).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('status').textContent).toBe('録音停止中 — カード情報を伺えます');
    expect(screen.getByTestId('secure-capture').getAttribute('data-paused')).toBe('true');
    // the focus stays on the toggle across the round trip (a disabled button would drop it)
    expect(document.activeElement).toBe(screen.getByTestId('secure-capture-toggle'));
    fireEvent.click(screen.getByRole('button', { name: '録音を再開' }));
    await screen.findByRole('button', { name: 'セキュアキャプチャ開始（カード情報）' });
    expect(document.activeElement).toBe(screen.getByTestId('secure-capture-toggle'));
    expect(w.secure.at(-1)).toEqual({ callId: 'live-1@test', paused: false });
  });

  it('in English; a refused switch says so and keeps the last state the gateway confirmed', async () => {
    const w = world();
    w.live = { recording: true, paused: false };
    w.api = { ...w.api, secureCapture: async () => Promise.reject(Object.assign(new Error('x'), { name: 'GatewayCallError' })) };
    mountToggle(w, 'en');
    fireEvent.click(await screen.findByRole('button', { name: 'Secure capture (card details)' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Secure capture could not be switched. Please try again.');
    expect(screen.getByTestId('secure-capture').getAttribute('data-paused')).toBe('false');
    expect(failures).toEqual(['switching secure capture: GatewayCallError']);
  });

  it('is not shown before the call is established', async () => {
    const w = world();
    w.live = { recording: true, paused: false };
    mountToggle(w, 'ja', false);
    await act(async () => new Promise((r) => setTimeout(r, 20)));
    expect(screen.queryByTestId('secure-capture')).toBeNull();
  });
});
