// The supervision connections are plain RTCPeerConnections to rtpengine (no SIP): rtpengine
// 10.5 offers carry no BUNDLE group (bundlePolicy "balanced"), need rtcp-mux, and are ICE-lite
// on loopback/LAN, so one UDP host candidate is enough ("fast ICE", as the phone does).
import { bestEffort } from '../../log';

const FAST_ICE_MS = 10;
const ICE_MAX_MS = 500;

export function supervisionPeer(iceServers: RTCIceServer[] = []): RTCPeerConnection {
  return new RTCPeerConnection({ iceServers, bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' });
}

/** Resolves when gathering is complete, or ~10 ms after the first UDP candidate (at most 500 ms). */
export function gathered(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const done = () => {
      pc.removeEventListener('icecandidate', onCandidate);
      clearTimeout(cap);
      if (timer) clearTimeout(timer);
      resolve();
    };
    const onCandidate = (e: RTCPeerConnectionIceEvent) => {
      if (!e.candidate) return done();
      if (!timer && / udp /i.test(e.candidate.candidate)) timer = setTimeout(done, FAST_ICE_MS);
    };
    pc.addEventListener('icecandidate', onCandidate);
    const cap = setTimeout(done, ICE_MAX_MS);
  });
}

/**
 * Splits rtpengine's candidates off its offer, so ICE starts only once rtpengine has the
 * answer (`subscribe answer`, passed on by the gateway) and knows the browser's ICE
 * credentials: the offer is applied without candidates and `connect` adds them after the
 * answer has been delivered, so no connectivity check races the answer.
 */
export function deferCandidates(sdp: string): { sdp: string; candidates: RTCIceCandidateInit[] } {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const kept: string[] = [];
  const candidates: RTCIceCandidateInit[] = [];
  let m = -1;
  let mids: (string | null)[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) mids[++m] = null;
    if (m >= 0 && line.startsWith('a=mid:')) mids[m] = line.slice(6);
    if (m >= 0 && line.startsWith('a=candidate:')) {
      candidates.push({ candidate: line.slice(2), sdpMLineIndex: m });
      continue;
    }
    if (line.startsWith('a=end-of-candidates')) continue;
    kept.push(line);
  }
  mids = mids.slice(0, m + 1);
  for (const c of candidates) {
    const mid = mids[c.sdpMLineIndex!];
    if (mid) c.sdpMid = mid;
  }
  return { sdp: kept.join(eol), candidates };
}

/**
 * Sets the remote offer (without its candidates, see `deferCandidates`), answers, and
 * returns the local answer once candidates are in; call `connect` after the answer has
 * reached rtpengine to start ICE.
 */
export async function answerOffer(pc: RTCPeerConnection, sdp: string): Promise<{ sdp: string; connect(): Promise<void> }> {
  const offer = deferCandidates(sdp);
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  const local = pc.localDescription?.sdp;
  if (!local) throw new Error('no local description');
  return {
    sdp: local,
    connect: async () => {
      for (const c of offer.candidates) await pc.addIceCandidate(c);
    },
  };
}

/** Plays a remote track: Web Audio only hears a remote WebRTC track that is also attached to a media element. */
export function playTrack(host: HTMLElement, track: MediaStreamTrack, testid: string): HTMLAudioElement {
  const audio = document.createElement('audio');
  audio.autoplay = true;
  audio.dataset.testid = testid;
  audio.srcObject = new MediaStream([track]);
  host.appendChild(audio);
  // autoplay refused (no user gesture yet): logged; the element plays from the next click
  void bestEffort(`playing the ${testid} track`, audio.play());
  return audio;
}

export function hiddenHost(testid: string): HTMLElement {
  const existing = document.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
  if (existing) return existing;
  const el = document.createElement('div');
  el.hidden = true;
  el.dataset.testid = testid;
  document.body.appendChild(el);
  return el;
}
