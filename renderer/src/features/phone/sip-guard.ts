// What the phone refuses before SIP.js 0.21 handles a request, in one place for every request
// it receives (in or out of a dialog). SIP.js leaves RFC 3261 8.2.2.3 (Require) as a TODO and
// answers an offer it cannot use with a 200 whose m=audio has port 0 (Chromium rejects the
// m-line): a silent call. So:
//   - a Require naming an extension the phone does not support -> 420 Bad Extension with
//     Unsupported: <those tags> (RFC 3261 8.2.2.3), e.g. "Require: timer";
//   - an INVITE whose offer has no audio stream the browser can take (Opus, G.722, PCMU, PCMA)
//     -> 488 Not Acceptable Here (RFC 3264 6), e.g. G.729 only, T.38 (m=image) only.
// Kamailio refuses such offers first (koe.cfg route[MEDIA_CHECK]); this is the phone's own rule,
// for what reaches it anyway. Pure decisions (requestRefusal, unsupportedRequire,
// offerHasUsableAudio) plus installRequestGuard, which hooks them into a UserAgent's core. No
// sip.js import: the test page loads this file as it is.

/** Option tags the phone implements (SIP.js with sipExtensionReplaces: Supported). */
export const PHONE_OPTION_TAGS: readonly string[] = ['outbound', 'replaces'];

/** Audio codecs a browser (Chromium WebRTC) decodes; static payload types 0, 8, 9. */
const USABLE_CODECS: ReadonlySet<string> = new Set(['opus', 'pcmu', 'pcma', 'g722']);
const STATIC_USABLE: ReadonlySet<string> = new Set(['0', '8', '9']);

/** The option tags of a Require header the phone does not support (empty: none). */
export function unsupportedRequire(require: string | undefined, supported: readonly string[] = PHONE_OPTION_TAGS): string[] {
  if (!require) return [];
  const have = new Set(supported.map((t) => t.toLowerCase()));
  return require
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0 && !have.has(t));
}

/** True when the SDP offers an active audio stream (port > 0) with a codec the browser takes. */
export function offerHasUsableAudio(sdp: string): boolean {
  let inAudio = false;
  let active = false;
  let pts: string[] = [];
  const names = new Map<string, string>();
  const streams: { active: boolean; pts: string[]; names: Map<string, string> }[] = [];
  const close = () => {
    if (inAudio) streams.push({ active, pts, names: new Map(names) });
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      close();
      const [media, port, , ...fmts] = line.slice(2).split(/\s+/);
      inAudio = media === 'audio';
      active = !!port && /^\d+/.test(port) && Number.parseInt(port, 10) > 0;
      pts = fmts;
      names.clear();
    } else if (inAudio && line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
      if (m) names.set(m[1]!, m[2]!.toLowerCase());
    }
  }
  close();
  return streams.some((s) => s.active && s.pts.some((pt) => (s.names.has(pt) ? USABLE_CODECS.has(s.names.get(pt)!) : STATIC_USABLE.has(pt))));
}

export interface SipRequestRefusal {
  statusCode: 420 | 488;
  reasonPhrase: string;
  extraHeaders: string[];
}

/** What the phone answers instead of handling the request, or null to let SIP.js handle it. */
export function requestRefusal(
  req: { method: string; require?: string | undefined; contentType?: string | undefined; body?: string | undefined },
  supported: readonly string[] = PHONE_OPTION_TAGS,
): SipRequestRefusal | null {
  if (req.method === 'ACK' || req.method === 'CANCEL') return null;
  const bad = unsupportedRequire(req.require, supported);
  if (bad.length) return { statusCode: 420, reasonPhrase: 'Bad Extension', extraHeaders: [`Unsupported: ${bad.join(', ')}`] };
  const sdp = !!req.body && /^application\/sdp\b/i.test(req.contentType ?? '');
  if (req.method === 'INVITE' && sdp && !offerHasUsableAudio(req.body!)) {
    return { statusCode: 488, reasonPhrase: 'Not Acceptable Here', extraHeaders: ['Warning: 304 koe "Incompatible media format: no usable audio codec"'] };
  }
  return null;
}

/** The parts of an incoming SIP.js request message the guard reads. */
interface IncomingRequestLike {
  method: string;
  callId: string;
  toTag?: string | undefined;
  body: string;
  getHeader(name: string): string | undefined;
}
interface CoreLike {
  configuration?: { supportedOptionTagsResponse?: string[] };
  receiveRequest(message: IncomingRequestLike): void;
  replyStateless(message: IncomingRequestLike, options: { statusCode: number; reasonPhrase?: string; extraHeaders?: string[] }): unknown;
}

/**
 * Hooks requestRefusal into a SIP.js 0.21 UserAgent: every new request (after transaction
 * matching, where SIP.js's own RFC 3261 8.2 checks run) is checked first and refused
 * statelessly (over a WebSocket nothing is retransmitted; the ACK to a refused INVITE is
 * absorbed by SIP.js). `onRefused` is told (the phone releases an inbound call it refused).
 */
export function installRequestGuard(ua: { userAgentCore: unknown }, onRefused?: (message: IncomingRequestLike, refusal: SipRequestRefusal) => void): void {
  const core = ua.userAgentCore as CoreLike;
  const original = core.receiveRequest.bind(core);
  core.receiveRequest = (message: IncomingRequestLike) => {
    const supported = core.configuration?.supportedOptionTagsResponse ?? PHONE_OPTION_TAGS;
    const refusal = requestRefusal(
      { method: message.method, require: message.getHeader('require'), contentType: message.getHeader('content-type'), body: message.body },
      supported,
    );
    if (!refusal) return original(message);
    core.replyStateless(message, { statusCode: refusal.statusCode, reasonPhrase: refusal.reasonPhrase, extraHeaders: refusal.extraHeaders });
    onRefused?.(message, refusal);
  };
}

/** The parts of SIP.js's Web SessionDescriptionHandler the rollback needs. */
interface SdhLike {
  peerConnection?: RTCPeerConnection | undefined;
  rollbackDescription?: () => Promise<void>;
}

const iceUfrag = (sdp: string | undefined): string | null => /^a=ice-ufrag:(\S+)/m.exec(sdp ?? '')?.[1] ?? null;
const dtlsSetup = (sdp: string | undefined): string | null => /^a=setup:(\S+)/m.exec(sdp ?? '')?.[1] ?? null;

/**
 * The answer that settles a refused local re-offer on the session as it was: the far end's last
 * agreed description, as an answer. When the phone answered last, that description is the far
 * end's offer: its "a=setup:actpass" becomes the role that keeps the phone's own DTLS role
 * (active -> passive), so the DTLS and ICE transports, codecs and candidates stay as they were.
 * Null when there is no agreed session, or the pending offer restarts ICE (new ICE credentials:
 * the old answer does not fit them; a rollback is the only way back).
 */
export function restoringAnswer(
  pendingLocal: { sdp?: string } | null,
  currentLocal: { sdp?: string } | null,
  currentRemote: { type: RTCSdpType; sdp?: string } | null,
): RTCSessionDescriptionInit | null {
  if (!pendingLocal?.sdp || !currentLocal?.sdp || !currentRemote?.sdp) return null;
  const ufrag = iceUfrag(currentLocal.sdp);
  if (!ufrag || iceUfrag(pendingLocal.sdp) !== ufrag) return null;
  if (currentRemote.type === 'answer') return { type: 'answer', sdp: currentRemote.sdp };
  const ours = dtlsSetup(currentLocal.sdp);
  const theirs = ours === 'active' ? 'passive' : ours === 'passive' ? 'active' : null;
  if (!theirs) return null;
  return { type: 'answer', sdp: currentRemote.sdp.replace(/^a=setup:actpass$/gm, `a=setup:${theirs}`) };
}

/**
 * SIP.js 0.21's Web SessionDescriptionHandler has no rollbackDescription, so a re-INVITE the
 * far end refuses (or one the phone refuses) leaves the RTCPeerConnection in "have-local-offer"
 * / "have-remote-offer": the call's media goes on, but the next re-INVITE (hold) fails with
 * "Invalid signaling state". This brings the connection back to the last agreed description
 * (RFC 3264 8: a refused offer leaves the session as it was). Idempotent.
 *
 * A refused local offer without an ICE restart is not rolled back: in a call whose far end
 * (rtpengine) offered without BUNDLE, Chromium's setLocalDescription({type:'rollback'}) of the
 * phone's re-offer drops the audio from its transport (iceConnectionState "new", no inbound RTP,
 * the operator hears nothing for the rest of the call). It is settled instead with the far end's
 * last description as the answer (restoringAnswer), the transceivers' directions set back to
 * what was agreed, which leaves the transports as they were.
 */
export function addOfferRollback<T extends SdhLike>(sdh: T): T & { rollbackDescription: () => Promise<void> } {
  const rollback = async () => {
    const pc = sdh.peerConnection;
    if (!pc || pc.signalingState === 'stable' || pc.signalingState === 'closed') return;
    const answer = pc.signalingState === 'have-local-offer' ? restoringAnswer(pc.pendingLocalDescription, pc.currentLocalDescription, pc.currentRemoteDescription) : null;
    if (!answer) {
      await pc.setLocalDescription({ type: 'rollback' });
      return;
    }
    for (const t of pc.getTransceivers()) if (t.currentDirection && t.currentDirection !== 'stopped' && t.direction !== 'stopped') t.direction = t.currentDirection;
    await pc.setRemoteDescription(answer);
  };
  return Object.assign(sdh, { rollbackDescription: rollback });
}
