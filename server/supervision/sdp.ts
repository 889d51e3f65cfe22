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

/**
 * Gives every m-line of a subscription offer its own `a=mid`. rtpengine copies each party's
 * mid from that party's own SDP: on an outbound call the operator's browser offered `mid:0`
 * and rtpengine gives the customer's leg, translated for that browser, `mid:0` too, so the
 * two-m-line monitor offer carried `a=mid:0` twice and Chromium refused it
 * (setRemoteDescription: InvalidAccessError, "Duplicate a=mid value"). An inbound call's
 * offer happened to differ (mid:1 and none). A repeated mid is renamed to the first free
 * number; the offer has no BUNDLE group (the m-lines are separate transports), so nothing
 * else names a mid. rtpengine matches the answer's m-lines by order, not by mid.
 */
export function uniqueMids(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const taken = new Set(lines.filter((l) => l.startsWith('a=mid:')).map((l) => l.slice(6).trim()));
  const seen = new Set<string>();
  let next = 0;
  return lines
    .map((l) => {
      if (!l.startsWith('a=mid:')) return l;
      const mid = l.slice(6).trim();
      if (!seen.has(mid)) {
        seen.add(mid);
        return l;
      }
      while (taken.has(String(next))) next++;
      const fresh = String(next);
      taken.add(fresh);
      seen.add(fresh);
      return `a=mid:${fresh}`;
    })
    .join(eol);
}

/** What the browser gets for any subscription (the lead's listening leg, the operator's whisper leg). */
export function subscriberOffer(sdp: string): string {
  return uniqueMids(iceLite(sdp));
}
