// The recordings features' gateway calls, made like every renderer feature's (gateway.ts: the
// one client, the short-lived access token main hands out), behind a context so component
// tests give fakes. The audio itself: recording-stream.ts.
import { createContext, useContext } from 'react';
import type { RecordingView } from '../../../../shared/gateway/recordings';
import { accessToken, gatewayClient } from '../../gateway';
import { useAppStore } from '../../app/app-store';
import type { AudioOut } from './pcm-player';
import { RecordingStream } from './recording-stream';

export interface RecordingsApi {
  byCustomer(customerId: string): Promise<RecordingView[]>;
  recent(limit: number): Promise<RecordingView[]>;
  stream(recordingId: string): RecordingStream;
  makeAudio(): AudioOut;
  liveState(callId: string): Promise<{ recording: boolean; paused: boolean }>;
  secureCapture(callId: string, paused: boolean): Promise<{ recording: boolean; paused: boolean }>;
}

export const gatewayRecordingsApi: RecordingsApi = {
  async byCustomer(customerId) {
    return (await gatewayClient.call('listRecordings', { accessToken: await accessToken(), query: { customerId } })).recordings;
  },
  async recent(limit) {
    return (await gatewayClient.call('recentRecordings', { accessToken: await accessToken(), query: { limit } })).recordings;
  },
  stream(recordingId) {
    return new RecordingStream(recordingId, {
      grant: async (id) => gatewayClient.call('playRecording', { accessToken: await accessToken(), params: { id } }),
      baseUrl: () => useAppStore.getState().policy?.policy.gatewayUrl ?? 'http://127.0.0.1:8787',
      accessToken,
      fetch: (url, init) => window.fetch(url, init),
    });
  },
  makeAudio: () => new AudioContext({ latencyHint: 'interactive' }) as unknown as AudioOut,
  async liveState(callId) {
    return gatewayClient.call('liveRecording', { accessToken: await accessToken(), query: { callId } });
  },
  async secureCapture(callId, paused) {
    return gatewayClient.call('secureCapture', { accessToken: await accessToken(), body: { callId, paused } });
  },
};

export const RecordingsApiContext = createContext<RecordingsApi>(gatewayRecordingsApi);
export const useRecordingsApi = (): RecordingsApi => useContext(RecordingsApiContext);
