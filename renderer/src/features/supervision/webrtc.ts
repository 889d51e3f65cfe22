// The supervision connections are plain RTCPeerConnections to rtpengine (no SIP): rtpengine
// 10.5 offers carry no BUNDLE group (bundlePolicy "balanced"), need rtcp-mux, and are ICE-lite
// on loopback/LAN, so one UDP host candidate is enough ("fast ICE", as the phone does).
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

/** Sets the remote offer, answers, and returns the local answer once candidates are in. */
export async function answerOffer(pc: RTCPeerConnection, sdp: string): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  const local = pc.localDescription?.sdp;
  if (!local) throw new Error('no local description');
  return local;
}

/** Plays a remote track: Web Audio only hears a remote WebRTC track that is also attached to a media element. */
export function playTrack(host: HTMLElement, track: MediaStreamTrack, testid: string): HTMLAudioElement {
  const audio = document.createElement('audio');
  audio.autoplay = true;
  audio.dataset.testid = testid;
  audio.srcObject = new MediaStream([track]);
  host.appendChild(audio);
  void audio.play().catch(() => undefined);
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
