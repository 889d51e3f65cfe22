// The operator's side of whisper and barge. The set-up arrives only as main's
// `supervision:signal` event, which main emits only for messages from the gateway link (its
// authenticated WebSocket): a SIP INVITE or MESSAGE never reaches this code, the phone treats
// every INVITE as an ordinary call. One second, non-SIP RTCPeerConnection receives the lead's
// voice. Barge mixes (Web Audio) the operator's microphone track and the lead's track and puts
// the mix on the customer call's sender (replaceTrack: no renegotiation); whisper or stop puts
// the microphone track back.
import type { SupervisionSignal } from '../../../../shared/ipc/contract';
import { koe } from '../../koe';
import { phoneActions } from '../phone/phone-service';
import { holdsUserData } from '../../stores/user-data';
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

let leg: Leg | null = null;

async function applyMode(l: Leg): Promise<void> {
  if (l.mode === 'barge' && !l.mix && l.leadTrack) {
    const sender = phoneActions.customerAudioSender();
    const mic = sender?.track ?? null;
    if (!sender || !mic) return;
    const ctx = new AudioContext();
    await ctx.resume().catch(() => undefined);
    const dest = ctx.createMediaStreamDestination();
    ctx.createMediaStreamSource(new MediaStream([mic])).connect(dest);
    ctx.createMediaStreamSource(new MediaStream([l.leadTrack])).connect(dest);
    const mixed = dest.stream.getAudioTracks()[0]!;
    mixed.enabled = mic.enabled; // a muted operator stays muted
    await sender.replaceTrack(mixed);
    l.mix = { ctx, sender, original: mic };
  } else if (l.mode === 'whisper' && l.mix) {
    await unmix(l);
  }
}

async function unmix(l: Leg): Promise<void> {
  const m = l.mix;
  if (!m) return;
  l.mix = null;
  await m.sender.replaceTrack(m.original).catch(() => undefined);
  await m.ctx.close().catch(() => undefined);
}

async function close(): Promise<void> {
  const l = leg;
  leg = null;
  useSupervisionStore.setState({ coaching: null });
  if (!l) return;
  await unmix(l);
  l.audio?.remove();
  l.pc.close();
}

async function onSignal(s: SupervisionSignal): Promise<void> {
  if (s.kind === 'offer') {
    await close();
    const pc = supervisionPeer();
    const l: Leg = { legId: s.legId, pc, audio: null, leadTrack: null, mode: s.mode, mix: null };
    leg = l;
    pc.ontrack = (e) => {
      if (leg !== l) return;
      l.leadTrack = e.track;
      l.audio = playTrack(hiddenHost('coaching-audio-host'), e.track, 'coaching-audio');
      void applyMode(l);
    };
    try {
      const answer = await answerOffer(pc, s.sdp);
      if (leg !== l) return;
      await koe().supervision.answer({ legId: s.legId, sdp: answer.sdp });
      if (leg !== l) return;
      await answer.connect();
      useSupervisionStore.setState({ coaching: { legId: s.legId, mode: s.mode } });
    } catch {
      if (leg === l) await close();
    }
  } else if (s.kind === 'mode') {
    if (!leg || leg.legId !== s.legId) return;
    leg.mode = s.mode;
    useSupervisionStore.setState({ coaching: { legId: s.legId, mode: s.mode } });
    await applyMode(leg);
  } else if (leg?.legId === s.legId) {
    await close();
  }
}

// The session ended: a lead's voice on the previous user's call is not the next user's.
holdsUserData('operator-supervision', () => {
  void close().catch((err: unknown) => console.warn(`[koe] closing the supervision leg at the end of the session failed: ${err instanceof Error ? err.name : typeof err}`));
});

/** Listens for the gateway's set-up while signed in; returns the stop function. */
export function startOperatorSupervision(): () => void {
  const off = koe().on('supervision:signal', (s) => void onSignal(s));
  return () => {
    off();
    void close();
  };
}
