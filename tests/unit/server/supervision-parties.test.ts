// Which tag is the customer and which the operator, whichever way the call was placed, and the
// subscription offer Chromium accepts (issue 15: an outbound call's monitor offer carried
// `a=mid:0` twice, taken from rtpengine 10.5's real answer in the supervision e2e run).
import { describe, expect, it } from 'vitest';
import { callLegs } from '../../../server/supervision/parties';
import { iceLite, subscriberOffer, uniqueMids } from '../../../server/supervision/sdp';

const oa = (peer: string) => [{ tag: peer, type: 'offer/answer' }];
const leg = (peer: string, protocol: string) => ({ subscriptions: oa(peer), medias: [{ protocol, type: 'audio', index: 1 }] });

describe('callLegs: the customer and the operator from an rtpengine query', () => {
  it('inbound (the customer is the caller): customer first', () => {
    const q = { tags: { cust1: leg('op1', 'RTP/AVP'), op1: leg('cust1', 'RTP/SAVPF'), hash: { subscriptions: [{ tag: 'op1', type: 'pub/sub' }], medias: [] } } };
    expect(callLegs(q)).toEqual({ tags: ['cust1', 'op1'], parties: { customer: 'cust1', operator: 'op1' } });
  });

  it('outbound (the operator is the caller, its tag sorts first): still customer first', () => {
    const q = { tags: { a_op: leg('z_cust', 'UDP/TLS/RTP/SAVPF'), z_cust: leg('a_op', 'RTP/AVP') } };
    expect(callLegs(q)).toEqual({ tags: ['z_cust', 'a_op'], parties: { customer: 'z_cust', operator: 'a_op' } });
  });

  it("a lead's published tag and subscription-only tags are never parties", () => {
    const q = { tags: { c: leg('o', 'RTP/AVP'), o: leg('c', 'RTP/SAVPF'), 'lead-x': leg('o', 'UDP/TLS/RTP/SAVPF'), sub: { subscriptions: [{ tag: 'c', type: 'pub/sub' }], medias: [{ protocol: 'UDP/TLS/RTP/SAVPF' }] } } };
    expect(callLegs(q).parties).toEqual({ customer: 'c', operator: 'o' });
    expect(callLegs(q).tags).toEqual(['c', 'o']);
  });

  it('legs that do not say who is who: tags (sorted, still live) but no parties', () => {
    expect(callLegs({ tags: { b: leg('a', 'RTP/AVP'), a: leg('b', 'RTP/AVP') } })).toEqual({ tags: ['a', 'b'], parties: null });
    expect(callLegs({ tags: { b: leg('a', 'RTP/SAVPF'), a: leg('b', 'UDP/TLS/RTP/SAVPF') } }).parties).toBeNull();
    expect(callLegs({ tags: { a: leg('b', 'RTP/AVP') } })).toEqual({ tags: ['a'], parties: null });
  });

  it('hostile or empty answers give no parties and do not throw', () => {
    for (const q of [{}, { tags: null }, { tags: 'x' }, { tags: { a: null, b: { subscriptions: 'x' } } }, { tags: { a: { subscriptions: [null], medias: [null] } } }]) {
      expect(callLegs(q as Record<string, unknown>).parties).toBeNull();
    }
  });
});

// the outbound monitor offer as rtpengine 10.5 wrote it (trimmed to what matters)
const OUTBOUND = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=rtpengine', 't=0 0',
  'm=audio 34754 UDP/TLS/RTP/SAVPF 0 8 126', 'c=IN IP4 127.0.0.1', 'a=mid:0', 'a=sendonly', 'a=setup:actpass',
  'm=audio 34772 UDP/TLS/RTP/SAVPF 0 8 126', 'c=IN IP4 127.0.0.1', 'a=mid:0', 'a=sendonly', 'a=setup:actpass', '',
].join('\r\n');

const mids = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('a=mid:'));

describe('subscription offers', () => {
  it('two m-lines with the same mid get distinct mids, the first kept', () => {
    expect(mids(uniqueMids(OUTBOUND))).toEqual(['a=mid:0', 'a=mid:1']);
  });

  it('an inbound-shaped offer (mid:1, then none) is left as it is', () => {
    const inbound = OUTBOUND.replace('a=mid:0', 'a=mid:1').replace(/\r\na=mid:0/, '');
    expect(uniqueMids(inbound)).toBe(inbound);
  });

  it('a fresh mid never collides with one used further down', () => {
    const three = OUTBOUND.replace(/a=sendonly\r\na=setup:actpass\r\n$/, 'a=sendonly\r\na=setup:actpass\r\nm=audio 1 RTP/AVP 0\r\na=mid:1\r\n');
    expect(mids(uniqueMids(three))).toEqual(['a=mid:0', 'a=mid:2', 'a=mid:1']);
  });

  it('LF-only SDP keeps its line ends; the subscriber offer is ICE-lite and unique-mid', () => {
    const lf = OUTBOUND.replaceAll('\r\n', '\n');
    expect(uniqueMids(lf)).not.toContain('\r');
    const offer = subscriberOffer(OUTBOUND);
    expect(offer).toBe(uniqueMids(iceLite(OUTBOUND)));
    expect(offer).toMatch(/^a=ice-lite\r$/m);
    expect(new Set(mids(offer)).size).toBe(2);
  });
});
