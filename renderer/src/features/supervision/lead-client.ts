// The team lead's side: start (silent monitor: one listening connection with both parties as
// two tracks), switch to whisper/barge (a second, sendonly connection publishes the lead's
// microphone), leave. Requests go to the gateway with the short-lived access token (as the
// CRM calls do); the gateway is the authority and audits everything.
import { GatewayCallError } from '../../../../shared/gateway-client';
import { accessToken, gatewayClient } from '../../gateway';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';
import { koe } from '../../koe';
import { holdsUserData } from '../../stores/user-data';
import { useSupervisionStore, type LeadSession } from './store';
import { answerOffer, gathered, hiddenHost, playTrack, supervisionPeer } from './webrtc';

const client = gatewayClient;
const token = accessToken;

let listen: RTCPeerConnection | null = null;
let publish: { pc: RTCPeerConnection; mic: MediaStream } | null = null;
let audios: HTMLAudioElement[] = [];

function patch(p: Partial<LeadSession>): void {
  useSupervisionStore.setState((s) => (s.lead ? { lead: { ...s.lead, ...p } } : {}));
}

function errorCode(e: unknown): string {
  return e instanceof GatewayCallError ? e.code : 'unexpected';
}

function closeMedia(): void {
  for (const a of audios) a.remove();
  audios = [];
  listen?.close();
  listen = null;
  if (publish) {
    for (const t of publish.mic.getTracks()) t.stop();
    publish.pc.close();
  }
  publish = null;
}

// The session ended: the previous user's listening connection closes (the store's lead entry is
// cleared with the supervision store).
holdsUserData('lead-supervision', closeMedia);

export async function startMonitor(callId: string, operatorId: string): Promise<void> {
  closeMedia();
  useSupervisionStore.setState({ lead: { supervisionId: null, callId, operatorId, mode: 'monitor', status: 'connecting', error: null, operatorConnected: false } });
  try {
    const view = await client.call('startSupervision', { accessToken: await token(), body: { callId } });
    if (!view.listenOffer) throw new GatewayCallError('bad_response', 'no offer');
    patch({ supervisionId: view.supervisionId });
    const pc = supervisionPeer();
    listen = pc;
    const host = hiddenHost('supervision-audio-host');
    pc.ontrack = (e) => audios.push(playTrack(host, e.track, 'supervision-audio'));
    const answer = await answerOffer(pc, view.listenOffer);
    await client.call('supervisionListenAnswer', { accessToken: await token(), params: { id: view.supervisionId }, body: { sdp: answer.sdp } });
    // ICE starts only now that rtpengine knows the answer (see deferCandidates)
    await answer.connect();
    patch({ status: 'listening' });
  } catch (e) {
    closeMedia();
    patch({ status: 'refused', error: errorCode(e) });
  }
}

function connected(pc: RTCPeerConnection, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    if (pc.connectionState === 'connected') return resolve();
    const t = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(t);
      pc.removeEventListener('connectionstatechange', check);
      resolve();
    }
    function check() {
      if (pc.connectionState === 'connected' || pc.connectionState === 'failed') done();
    }
    pc.addEventListener('connectionstatechange', check);
  });
}

export async function switchMode(mode: SupervisionMode): Promise<void> {
  const lead = useSupervisionStore.getState().lead;
  if (!lead?.supervisionId || lead.status === 'ended') return;
  patch({ status: 'switching', error: null });
  try {
    let publishOffer: string | undefined;
    let fresh: { pc: RTCPeerConnection; mic: MediaStream } | null = null;
    if (mode !== 'monitor' && !publish) {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      const pc = supervisionPeer();
      pc.addTransceiver(mic.getAudioTracks()[0]!, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      publishOffer = pc.localDescription!.sdp;
      fresh = { pc, mic };
    }
    const view = await client.call('supervisionMode', {
      accessToken: await token(),
      params: { id: lead.supervisionId },
      body: publishOffer ? { mode, publishOffer } : { mode },
    });
    let final = view;
    if (fresh) {
      if (!view.publishAnswer) throw new GatewayCallError('bad_response', 'no answer for the published voice');
      await fresh.pc.setRemoteDescription({ type: 'answer', sdp: view.publishAnswer });
      publish = fresh;
      await connected(fresh.pc);
      // The lead's voice flows into rtpengine: now the gateway connects the operator's page.
      final = await client.call('supervisionMode', { accessToken: await token(), params: { id: lead.supervisionId }, body: { mode } });
    }
    patch({ mode: final.mode, status: 'listening', operatorConnected: final.operatorConnected });
  } catch (e) {
    patch({ status: 'listening', error: errorCode(e) });
  }
}

export async function leave(): Promise<void> {
  const lead = useSupervisionStore.getState().lead;
  closeMedia();
  useSupervisionStore.setState({ lead: null });
  if (lead?.supervisionId && lead.status !== 'ended') {
    await client.call('stopSupervision', { accessToken: await token(), params: { id: lead.supervisionId } }).catch(() => undefined);
  }
}

/** The gateway ended it (the call is over): every connection closes at once. */
export function startLeadEvents(): () => void {
  return koe().on('supervision:ended', (e) => {
    const lead = useSupervisionStore.getState().lead;
    if (lead?.supervisionId !== e.supervisionId) return;
    closeMedia();
    patch({ status: 'ended', error: e.reason });
  });
}
