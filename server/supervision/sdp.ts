// The ng flags of supervision legs and the ICE-lite fix (server/supervision/service.ts).
import type { Bencodable } from './ng';

/** The WebRTC side of every supervision leg (Chromium: ICE, rtcp-mux, DTLS-SRTP). */
export const WEBRTC: Record<string, Bencodable> = { 'transport-protocol': 'UDP/TLS/RTP/SAVPF', ICE: 'force', 'rtcp-mux': ['require'], SDES: ['off'] };
/**
 * Subscriptions make rtpengine an ICE-lite peer, so the browser is the one full (controlling)
 * agent and no role conflict can arise. With both full agents, rtpengine runs one ICE agent
 * (own tie-breaker) per m-line while Chromium has one role per RTCPeerConnection and honours
 * only its first role-conflict switch: on the two-m-line monitor offer (no BUNDLE) one
 * transport then drew "ICE role conflict" for every check and stayed in "checking" (one
 * party silent for ~1.2 s, or for good). rtpengine 10.5 acts lite but does not write
 * `a=ice-lite` into a subscription offer: `iceLite` adds it.
 */
export const SUBSCRIBER: Record<string, Bencodable> = { ...WEBRTC, 'ICE-lite': 'forward' };

/** Declares the offer ICE-lite (session level) if rtpengine did not. */
export function iceLite(sdp: string): string {
  if (/^a=ice-lite\s*$/m.test(sdp)) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const m = sdp.indexOf(`${eol}m=`);
  return m < 0 ? sdp : `${sdp.slice(0, m + eol.length)}a=ice-lite${eol}${sdp.slice(m + eol.length)}`;
}
