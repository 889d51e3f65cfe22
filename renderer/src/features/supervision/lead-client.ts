// The team lead's side: start (silent monitor: one listening connection with both parties as
// two tracks), switch to whisper/barge (a second, sendonly connection publishes the lead's
// microphone), leave. Requests go to the gateway with the short-lived access token (as the
// CRM calls do); the gateway is the authority and audits everything. One LeadSupervision per
// mounted <SupervisionClient>, given to the board through context (useLeadSupervision): no module state.
import { GatewayCallError } from '../../../../shared/gateway-client';
import type { SupervisionMode } from '../../../../shared/gateway/supervision';
import { holdsUserData } from '../../app/user-data';
import { accessToken, gatewayClient } from '../../gateway';
import { koe } from '../../koe';
import { bestEffort, logFailure } from '../../log';
import { useSupervisionStore, type LeadSession } from './store';
import { answerOffer, gathered, hiddenHost, playTrack, supervisionPeer } from './webrtc';

const client = gatewayClient;
const token = accessToken;

function patch(p: Partial<LeadSession>): void {
  useSupervisionStore.setState((s) => (s.lead ? { lead: { ...s.lead, ...p } } : {}));
}

/** The code the panel shows (supervision.error.*); what failed is logged by the error's name. */
function errorCode(what: string, e: unknown): string {
  logFailure(what, e);
  return e instanceof GatewayCallError ? e.code : 'unexpected';
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

export class LeadSupervision {
  /** `microphone`: the input device the lead chose in the audio settings (null: the system's default). */
  constructor(private readonly microphone: () => string | null = () => null) {}

  private listen: RTCPeerConnection | null = null;
  private publish: { pc: RTCPeerConnection; mic: MediaStream } | null = null;
  private audios: HTMLAudioElement[] = [];

  private closeMedia(): void {
    for (const a of this.audios) a.remove();
    this.audios = [];
    this.listen?.close();
    this.listen = null;
    if (this.publish) {
      for (const t of this.publish.mic.getTracks()) t.stop();
      this.publish.pc.close();
    }
    this.publish = null;
  }

  /**
   * While signed in as a lead: the gateway's "ended" events close every connection at once, and
   * the session's end closes the previous user's listening connection (the store's lead entry is
   * cleared with the supervision store). Returns the stop function (which closes the media too).
   */
  follow(): () => void {
    const detach = holdsUserData('lead-supervision', () => this.closeMedia());
    const off = koe().on('supervision:ended', (e) => {
      const lead = useSupervisionStore.getState().lead;
      if (lead?.supervisionId !== e.supervisionId) return;
      this.closeMedia();
      patch({ status: 'ended', error: e.reason });
    });
    return () => {
      off();
      detach();
      this.closeMedia();
    };
  }

  async startMonitor(callId: string, operatorId: string): Promise<void> {
    this.closeMedia();
    useSupervisionStore.setState({ lead: { supervisionId: null, callId, operatorId, mode: 'monitor', status: 'connecting', error: null, operatorConnected: false } });
    try {
      const view = await client.call('startSupervision', { accessToken: await token(), body: { callId } });
      if (!view.listenOffer) throw new GatewayCallError('bad_response', 'no offer');
      patch({ supervisionId: view.supervisionId });
      const pc = supervisionPeer();
      this.listen = pc;
      const host = hiddenHost('supervision-audio-host');
      pc.ontrack = (e) => this.audios.push(playTrack(host, e.track, 'supervision-audio'));
      const answer = await answerOffer(pc, view.listenOffer);
      await client.call('supervisionListenAnswer', { accessToken: await token(), params: { id: view.supervisionId }, body: { sdp: answer.sdp } });
      // ICE starts only now that rtpengine knows the answer (see deferCandidates)
      await answer.connect();
      patch({ status: 'listening' });
    } catch (e) {
      this.closeMedia();
      patch({ status: 'refused', error: errorCode('starting to listen to a call', e) });
    }
  }

  async switchMode(mode: SupervisionMode): Promise<void> {
    const lead = useSupervisionStore.getState().lead;
    if (!lead?.supervisionId || lead.status === 'ended') return;
    patch({ status: 'switching', error: null });
    try {
      let publishOffer: string | undefined;
      let fresh: { pc: RTCPeerConnection; mic: MediaStream } | null = null;
      if (mode !== 'monitor' && !this.publish) {
        // the lead's chosen microphone, as the phone uses it (was: always the system default)
        const device = this.microphone();
        const mic = await navigator.mediaDevices.getUserMedia({ audio: device ? { deviceId: { exact: device } } : true, video: false });
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
        this.publish = fresh;
        await connected(fresh.pc);
        // The lead's voice flows into rtpengine: now the gateway connects the operator's page.
        final = await client.call('supervisionMode', { accessToken: await token(), params: { id: lead.supervisionId }, body: { mode } });
      }
      patch({ mode: final.mode, status: 'listening', operatorConnected: final.operatorConnected });
    } catch (e) {
      patch({ status: 'listening', error: errorCode(`switching supervision to ${mode}`, e) });
    }
  }

  async leave(): Promise<void> {
    const lead = useSupervisionStore.getState().lead;
    this.closeMedia();
    useSupervisionStore.setState({ lead: null });
    if (lead?.supervisionId && lead.status !== 'ended') {
      const id = lead.supervisionId;
      // the gateway ends it anyway when the call ends; a failed stop is logged
      await bestEffort('telling the gateway the lead left', async () => client.call('stopSupervision', { accessToken: await token(), params: { id } }));
    }
  }
}
