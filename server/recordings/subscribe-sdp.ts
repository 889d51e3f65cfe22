// The recorder's rtpengine subscription (./capture.ts): which tags are the two parties, the
// UDP sockets the media comes to, rtpengine's offer read and our recvonly answer written.
import { createSocket, type Socket } from 'node:dgram';
import { reportBackgroundFailure } from '../background';
import type { NgClient } from '../supervision/ng';
import { queryLegs, type CallParties } from '../supervision/parties';

/** The customer's and the operator's from-tags, whichever direction the call was placed (one rule with supervision: ../supervision/parties.ts). */
export async function partyTags(ng: NgClient, callId: string): Promise<CallParties | null> {
  return (await queryLegs(ng, callId))?.parties ?? null;
}

/** A UDP socket on `address` (an ephemeral port) for one party's RTP. */
export function bindRtpSocket(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      s.on('error', (err) => reportBackgroundFailure('recordings: RTP socket', err));
      resolve(s);
    });
  });
}

/** The m-lines of rtpengine's subscription offer: payload types (with their rtpmap lines) and mid, in order. */
export function offerMedia(sdp: string): { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[] {
  const out: { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[] = [];
  for (const l of sdp.split(/\r?\n/)) {
    const m = out[out.length - 1];
    if (l.startsWith('m=')) out.push({ payloadTypes: l.trim().split(/\s+/).slice(3).map(Number).filter((n) => Number.isInteger(n)), rtpmaps: [], mid: null });
    else if (m && l.startsWith('a=mid:')) m.mid = l.slice(6).trim();
    else if (m && /^a=(rtpmap|fmtp):\d+ /.test(l)) m.rtpmaps.push(l.trim());
  }
  return out;
}

/**
 * Our answer: one recvonly RTP/AVP m-line per party toward our own sockets. rtpengine 10.5
 * refuses a subscription answer that drops an offered payload type ("Failed to process
 * subscription answer": telephone-event must be echoed), so every offered type is echoed
 * with its rtpmap; only PCMU and PCMA packets are decoded (DTMF events are not audio).
 */
export function answerSdp(address: string, ports: number[], offered: { payloadTypes: number[]; rtpmaps: string[]; mid: string | null }[]): string {
  const lines = ['v=0', `o=koe-recorder 1 1 IN IP4 ${address}`, 's=koe-recorder', `c=IN IP4 ${address}`, 't=0 0'];
  offered.forEach((m, i) => {
    const use = m.payloadTypes.length ? m.payloadTypes : [0];
    lines.push(`m=audio ${ports[i]} RTP/AVP ${use.join(' ')}`);
    if (m.mid !== null) lines.push(`a=mid:${m.mid}`);
    for (const pt of use) {
      const given = m.rtpmaps.filter((l) => l.startsWith(`a=rtpmap:${pt} `) || l.startsWith(`a=fmtp:${pt} `));
      if (given.length) lines.push(...given);
      else if (pt === 0 || pt === 8) lines.push(`a=rtpmap:${pt} ${pt === 0 ? 'PCMU' : 'PCMA'}/8000`);
    }
    lines.push('a=recvonly');
  });
  return `${lines.join('\r\n')}\r\n`;
}
