// The operator's side of whisper and barge. The set-up arrives only as main's
// `supervision:signal` event, which main emits only for messages from the gateway link (its
// authenticated WebSocket): a SIP INVITE or MESSAGE never reaches this code, the phone treats
// every INVITE as an ordinary call. One second, non-SIP RTCPeerConnection receives the lead's
// voice. Barge mixes (Web Audio) the operator's microphone track and the lead's track and puts
// the mix on the customer call's sender (replaceTrack: no renegotiation); whisper or stop puts
// the microphone track back. One OperatorSupervision per signed-in operator (SupervisionClient.tsx):
// no module state.
import type { SupervisionSignal } from '../../../../shared/ipc/contract';
import { koe } from '../../koe';
import { bestEffort, logFailure } from '../../log';
import { holdsUserData } from '../../app/user-data';
import { useSupervisionStore } from './store';
import { answerOffer, hiddenHost, playTrack, supervisionPeer } from './webrtc';

interface Leg {
  legId: string;
  pc: RTCPeerConnection;
  audio: HTMLAudioElement | null;
  leadTrack: MediaStreamTrack | null;
  mode: 'whisper' | 'barge';
  mix: { ctx: AudioContext; sender: RTCRtpSender; original: MediaStreamTrack | null } | null;
}

export class OperatorSupervision {
  private leg: Leg | null = null;

  /** `customerAudioSender`: the sender of the live customer call (the telephony object's), or null. */
  constructor(private readonly customerAudioSender: () => RTCRtpSender | null) {}

  /** Listens for the gateway's set-up while signed in; returns the stop function. */
  start(): () => void {
    const off = koe().on('supervision:signal', (s) => void this.onSignal(s).catch((err: unknown) => logFailure(`applying the supervision ${s.kind}`, err)));
    // The session ended: a lead's voice on the previous user's call is not the next user's.
    const detach = holdsUserData('operator-supervision', () => void bestEffort('closing the supervision leg at the end of the session', () => this.close()));
    return () => {
      off();
      detach();
      void bestEffort('closing the supervision leg', () => this.close());
    };
  }

  private async applyMode(l: Leg): Promise<void> {
    if (l.mode === 'barge' && !l.mix && l.leadTrack) {
      const sender = this.customerAudioSender();
      const mic = sender?.track ?? null;
      if (!sender || !mic) return;
      const ctx = new AudioContext();
      // refused without a user gesture: logged; the mix starts when the context may run
      await bestEffort('starting the barge mix', ctx.resume());
      const dest = ctx.createMediaStreamDestination();
      ctx.createMediaStreamSource(new MediaStream([mic])).connect(dest);
      ctx.createMediaStreamSource(new MediaStream([l.leadTrack])).connect(dest);
      const mixed = dest.stream.getAudioTracks()[0]!;
      mixed.enabled = mic.enabled; // a muted operator stays muted
      await sender.replaceTrack(mixed);
      l.mix = { ctx, sender, original: mic };
    } else if (l.mode === 'whisper' && l.mix) {
      await this.unmix(l);
    }
  }

  /**
   * The operator chose another microphone mid-call: the phone put it on the customer call's
   * sender in place of the barge mix (it swaps whatever track the sender has). While barging,
   * the lead's voice is mixed again with the new microphone, and the previous microphone is
   * closed; later, whisper or stop puts the NEW microphone back (not the closed one).
   */
  async microphoneChanged(): Promise<void> {
    const l = this.leg;
    const old = l?.mix;
    if (!l || !old) return;
    l.mix = null;
    await bestEffort('closing the barge mix of the previous microphone', old.ctx.close());
    if (old.original && old.original !== old.sender.track) old.original.stop();
    await this.applyMode(l);
  }

  private async unmix(l: Leg): Promise<void> {
    const m = l.mix;
    if (!m) return;
    l.mix = null;
    await bestEffort('putting the microphone back on the customer call', m.sender.replaceTrack(m.original));
    await bestEffort('closing the barge mix', m.ctx.close());
  }

  private async close(): Promise<void> {
    const l = this.leg;
    this.leg = null;
    useSupervisionStore.setState({ coaching: null });
    if (!l) return;
    await this.unmix(l);
    l.audio?.remove();
    l.pc.close();
  }

  private async onSignal(s: SupervisionSignal): Promise<void> {
    if (s.kind === 'offer') {
      await this.close();
      const pc = supervisionPeer();
      const l: Leg = { legId: s.legId, pc, audio: null, leadTrack: null, mode: s.mode, mix: null };
      this.leg = l;
      pc.ontrack = (e) => {
        if (this.leg !== l) return;
        l.leadTrack = e.track;
        l.audio = playTrack(hiddenHost('coaching-audio-host'), e.track, 'coaching-audio');
        void this.applyMode(l).catch((err: unknown) => logFailure('mixing the team lead into the call', err));
      };
      try {
        const answer = await answerOffer(pc, s.sdp);
        if (this.leg !== l) return;
        await koe().supervision.answer({ legId: s.legId, sdp: answer.sdp });
        if (this.leg !== l) return;
        await answer.connect();
        useSupervisionStore.setState({ coaching: { legId: s.legId, mode: s.mode } });
      } catch (err) {
        logFailure("connecting the team lead's voice", err);
        if (this.leg === l) await this.close();
      }
    } else if (s.kind === 'mode') {
      if (!this.leg || this.leg.legId !== s.legId) return;
      this.leg.mode = s.mode;
      useSupervisionStore.setState({ coaching: { legId: s.legId, mode: s.mode } });
      await this.applyMode(this.leg);
    } else if (this.leg?.legId === s.legId) {
      await this.close();
    }
  }
}
