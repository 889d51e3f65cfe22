// Which of a call's dialogue tags is the customer and which the operator, whichever direction
// the call was placed (issue 15): the operator's leg is the WebRTC one (its media protocol is
// SAVPF: UDP/TLS/RTP/SAVPF, RTP/SAVPF once rtpengine has translated it), the customer's the
// plain RTP one from the trunk. On an inbound call the customer is the caller (from-tag); on
// an outbound call the operator is. Supervision (the lead's two m-lines: customer first) and
// the recorder (left customer, right operator) both ask here, never "caller = customer".
import { NgError, type NgClient } from './ng';

export interface CallParties {
  customer: string;
  operator: string;
}

interface TagInfo {
  medias?: { protocol?: unknown }[];
  subscriptions?: { type?: unknown }[];
}

export interface CallLegs {
  /** The dialogue tags (offer/answer, never a lead's published lead-* tag): customer first when known. */
  tags: string[];
  /** Exactly one WebRTC and one plain leg; null when the legs do not say (both or neither WebRTC). */
  parties: CallParties | null;
}

const isWebrtc = (t: TagInfo): boolean => (t.medias ?? []).some((m) => typeof m?.protocol === 'string' && m.protocol.includes('SAVPF'));

/** The legs of an rtpengine `query` answer. */
export function callLegs(query: Record<string, unknown>): CallLegs {
  const all = query.tags && typeof query.tags === 'object' ? (query.tags as Record<string, TagInfo>) : {};
  const dialogue = Object.entries(all).filter(
    ([tag, t]) => !tag.startsWith('lead-') && Array.isArray(t?.subscriptions) && t.subscriptions.some((x) => x?.type === 'offer/answer'),
  );
  const op = dialogue.filter(([, t]) => isWebrtc(t));
  const cust = dialogue.filter(([, t]) => !isWebrtc(t));
  const parties = dialogue.length === 2 && op.length === 1 && cust.length === 1 ? { customer: cust[0]![0], operator: op[0]![0] } : null;
  return { tags: parties ? [parties.customer, parties.operator] : dialogue.map(([tag]) => tag).sort(), parties };
}

/** The call's legs per rtpengine `query`, or null when that rtpengine knows no such call. */
export async function queryLegs(ng: NgClient, callId: string): Promise<CallLegs | null> {
  try {
    return callLegs(await ng.command('query', { 'call-id': callId }));
  } catch (e) {
    if (e instanceof NgError && /unknown call/i.test(e.message)) return null;
    throw e;
  }
}
