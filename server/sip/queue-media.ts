// The engines a queue drives (server/sip/queue.ts): the node's rtpengine (ng) for the caller's
// early media and the announcements, and the node's Kamailio control port (koe.cfg
// route[CONTROL], POST /koe/queue) to continue or end the held INVITE.
import { NgClient } from '../supervision/ng';

/** rtpengine's flags toward a plain-RTP caller (koe.cfg OFFER_TO_RTP / ANSWER_TO_RTP). */
const TO_RTP = { replace: ['origin', 'session-connection'], ICE: 'remove', 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'] };
/** The to-tag of the queue's side of the call: a black hole that takes whatever the caller sends. */
export const QUEUE_TO_TAG = 'koe-queue';

export class QueueMedia {
  private readonly clients = new Map<string, NgClient>();

  constructor(
    private readonly defaultNode: string | null,
    private readonly allowedNodes: readonly string[],
  ) {}

  /** The ng client of the node Kamailio reported (or the configured one). */
  private ng(node: string | null): NgClient {
    const address = node && (this.allowedNodes.includes(node) || node === this.defaultNode) ? node : this.defaultNode;
    if (!address) throw new Error('no rtpengine configured (sip.rtpengineNg)');
    let c = this.clients.get(address);
    if (!c) {
      const [host, port] = address.split(':');
      c = new NgClient(host!, Number(port), { timeoutMs: 700, retries: 2 });
      this.clients.set(address, c);
    }
    return c;
  }

  /**
   * Anchors the caller's offer on rtpengine and answers it from a black hole: the SDP returned is
   * rtpengine's side toward the caller (for the 183). Kamailio's later offer toward the operator
   * (same Call-ID and From tag) re-uses the caller's side of the call.
   */
  async earlyMedia(node: string | null, callId: string, fromTag: string, callerSdp: string): Promise<string> {
    const ng = this.ng(node);
    const offer = await ng.command('offer', { 'call-id': callId, 'from-tag': fromTag, sdp: callerSdp, ...TO_RTP });
    const towardUs = String(offer.sdp ?? '');
    // the queue's side: rtpengine's own offer, pointed at the discard port (what the caller says goes nowhere)
    const blackHole = towardUs.replace(/^m=audio \d+/m, 'm=audio 9').replace(/^c=IN IP4 .*$/gm, 'c=IN IP4 127.0.0.1').replace(/^a=(ice|candidate|rtcp:).*\r?\n/gm, '');
    const answer = await ng.command('answer', { 'call-id': callId, 'from-tag': fromTag, 'to-tag': QUEUE_TO_TAG, sdp: blackHole, ...TO_RTP });
    const sdp = String(answer.sdp ?? '');
    if (!/^m=audio [1-9]/m.test(sdp)) throw new Error('rtpengine gave no audio answer for the early media');
    return sdp;
  }

  /** Plays `file` to the caller (from the start); resolves with its duration in ms (rtpengine's figure). */
  async play(node: string | null, callId: string, fromTag: string, file: string, loop = false): Promise<number> {
    const ng = this.ng(node);
    // a new file replaces what plays (stop first: rtpengine 10.5 refuses a second player on a leg)
    await this.stop(node, callId, fromTag);
    const r = await ng.command('play media', { 'call-id': callId, 'from-tag': fromTag, file, ...(loop ? { 'repeat-times': 10_000 } : {}) });
    return typeof r.duration === 'number' ? r.duration : 0;
  }

  async stop(node: string | null, callId: string, fromTag: string): Promise<void> {
    try {
      await this.ng(node).command('stop media', { 'call-id': callId, 'from-tag': fromTag });
    } catch (e) {
      // nothing playing is not a failure; a call rtpengine no longer knows has nothing to stop
      if (!/not.*play|no.*player|Unknown call|not found/i.test((e as Error).message)) throw e;
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

export type KamailioAction =
  /** ring: the offer's ring timeout in seconds, as text (Kamailio's branch timer = the model's ring deadline). */
  | { action: 'connect'; target: string; campaign: string; did: string; ring?: string }
  /** closed: the caller gets "480 Closed" with a Reason (the closed message was played). */
  | { action: 'end'; code: 480 | 486 | 603; reason?: 'closed' };

/** 'done': Kamailio continued the transaction; 'gone': no such held transaction (the caller left, or it was continued already). */
export async function continueHeld(control: string, secret: string, held: { tindex: number; tlabel: number; callId: string }, act: KamailioAction): Promise<'done' | 'gone'> {
  const body = JSON.stringify({ ti: held.tindex, tl: held.tlabel, ci: held.callId, ...act });
  // a hold answered a moment ago may not be suspended yet (Kamailio suspends right after our
  // answer): "not held" is asked again briefly before it counts as gone
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`http://${control}/koe/queue`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-koe-route-secret': secret }, body, signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    if (res.status === 200) return 'done';
    if (res.status !== 404) throw new Error(`Kamailio control /koe/queue answered ${res.status}`);
    if (attempt >= 5) return 'gone';
    await new Promise((r) => setTimeout(r, 40 * (attempt + 1)));
  }
}
