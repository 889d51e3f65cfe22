// The phone's request guard (renderer/src/features/phone/sip-guard.ts): Require -> 420 with
// Unsupported, an offer without usable audio -> 488, everything else to SIP.js untouched; the
// offer rollback SIP.js 0.21's Web SDH lacks. On the wire: tests/integration/telephony/offer-answer.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { addOfferRollback, installRequestGuard, offerHasUsableAudio, requestRefusal, restoringAnswer, unsupportedRequire } from '../../../renderer/src/features/phone/sip-guard';

const sdp = (...media: string[]) => ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', ...media].join('\r\n') + '\r\n';

describe('unsupportedRequire', () => {
  it('names the option tags the phone does not implement, case-insensitively', () => {
    expect(unsupportedRequire('timer')).toEqual(['timer']);
    expect(unsupportedRequire('100rel, Timer')).toEqual(['100rel', 'timer']);
    expect(unsupportedRequire('replaces')).toEqual([]);
    expect(unsupportedRequire('Replaces,outbound')).toEqual([]);
    expect(unsupportedRequire(undefined)).toEqual([]);
    expect(unsupportedRequire(' , ')).toEqual([]);
  });
});

describe('offerHasUsableAudio', () => {
  it('accepts an active audio stream with Opus, G.722, PCMU or PCMA (static or rtpmap)', () => {
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 0'))).toBe(true);
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 8 101', 'a=rtpmap:101 telephone-event/8000'))).toBe(true);
    expect(offerHasUsableAudio(sdp('m=audio 4000 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2'))).toBe(true);
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 18 9', 'a=rtpmap:18 G729/8000', 'a=rtpmap:9 G722/8000'))).toBe(true);
    expect(offerHasUsableAudio(sdp('m=audio 0 RTP/AVP 0', 'm=audio 5000 RTP/AVP 96', 'a=rtpmap:96 PCMU/8000'))).toBe(true);
  });
  it('refuses G.729 only, T.38 only, a disabled audio stream, telephone-event/CN only, no media', () => {
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 18', 'a=rtpmap:18 G729/8000'))).toBe(false);
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 18'))).toBe(false);
    expect(offerHasUsableAudio(sdp('m=image 4000 udptl t38', 'a=T38FaxVersion:0'))).toBe(false);
    expect(offerHasUsableAudio(sdp('m=audio 0 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'm=image 4000 udptl t38'))).toBe(false);
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 101 13', 'a=rtpmap:101 telephone-event/8000', 'a=rtpmap:13 CN/8000'))).toBe(false);
    // a payload type 0 remapped to another codec is that codec
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 0', 'a=rtpmap:0 G729/8000'))).toBe(false);
    // an rtpmap under another m-line does not count for this one
    expect(offerHasUsableAudio(sdp('m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 G729/8000', 'm=video 5000 RTP/AVP 97', 'a=rtpmap:97 PCMU/8000'))).toBe(false);
    expect(offerHasUsableAudio('')).toBe(false);
  });
  it('random text never throws (2000 generated strings)', () => {
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const parts = ['m=audio ', 'm=image ', '0 ', '4000 ', 'RTP/AVP ', '18', '0', '\r\n', '\n', 'a=rtpmap:', '0 PCMU/8000', ' ', 'x', '\u0000'];
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: Math.floor(rnd() * 30) }, () => parts[Math.floor(rnd() * parts.length)]).join('');
      expect(typeof offerHasUsableAudio(s)).toBe('boolean');
    }
  });
});

describe('requestRefusal', () => {
  const g729 = sdp('m=audio 4000 RTP/AVP 18', 'a=rtpmap:18 G729/8000');
  it('420 with Unsupported for a Require the phone lacks, on any request but ACK and CANCEL; before the offer check', () => {
    for (const method of ['INVITE', 'BYE', 'INFO', 'MESSAGE', 'NOTIFY', 'REFER', 'OPTIONS']) {
      expect(requestRefusal({ method, require: 'timer', contentType: 'application/sdp', body: g729 })).toEqual({
        statusCode: 420, reasonPhrase: 'Bad Extension', extraHeaders: ['Unsupported: timer'],
      });
    }
    expect(requestRefusal({ method: 'ACK', require: 'timer' })).toBeNull();
    expect(requestRefusal({ method: 'CANCEL', require: 'timer' })).toBeNull();
  });
  it('488 for an INVITE (initial or re-INVITE) whose SDP offer has no usable audio; other bodies and methods pass', () => {
    expect(requestRefusal({ method: 'INVITE', contentType: 'application/sdp', body: g729 })?.statusCode).toBe(488);
    expect(requestRefusal({ method: 'INVITE', contentType: 'Application/SDP; charset=utf-8', body: g729 })?.statusCode).toBe(488);
    expect(requestRefusal({ method: 'INVITE', contentType: 'application/sdp', body: sdp('m=audio 4000 RTP/AVP 0') })).toBeNull();
    expect(requestRefusal({ method: 'INVITE', body: '' })).toBeNull(); // delayed offer: SIP.js makes the offer
    expect(requestRefusal({ method: 'INFO', contentType: 'application/sdp', body: g729 })).toBeNull();
    expect(requestRefusal({ method: 'INVITE', contentType: 'application/dtmf-relay', body: 'Signal=1' })).toBeNull();
  });
});

describe('installRequestGuard', () => {
  const message = (method: string, headers: Record<string, string>, body = '') => ({
    method, body, toTag: undefined, getHeader: (n: string) => headers[n.toLowerCase()],
  });
  it('refuses statelessly and tells; hands everything else to SIP.js', () => {
    const seen: string[] = [];
    const core = {
      configuration: { supportedOptionTagsResponse: ['outbound', 'replaces'] },
      receiveRequest: vi.fn((m: { method: string }) => seen.push(m.method)),
      replyStateless: vi.fn(),
    };
    const refused = vi.fn();
    installRequestGuard({ userAgentCore: core }, refused);
    core.receiveRequest(message('INVITE', { require: 'timer' }));
    core.receiveRequest(message('INVITE', { 'content-type': 'application/sdp' }, 'v=0\r\nm=image 4000 udptl t38\r\n'));
    core.receiveRequest(message('INVITE', { require: 'replaces', 'content-type': 'application/sdp' }, 'v=0\r\nm=audio 4000 RTP/AVP 0\r\n'));
    core.receiveRequest(message('BYE', {}));
    expect(seen).toEqual(['INVITE', 'BYE']);
    expect(core.replyStateless.mock.calls.map((c) => c[1].statusCode)).toEqual([420, 488]);
    expect(core.replyStateless.mock.calls[0]![1].extraHeaders).toEqual(['Unsupported: timer']);
    expect(refused).toHaveBeenCalledTimes(2);
  });
});

describe('addOfferRollback', () => {
  it('rolls a connection left with a pending offer back to stable; leaves stable and closed ones alone', async () => {
    for (const [state, calls] of [['have-local-offer', 1], ['have-remote-offer', 1], ['stable', 0], ['closed', 0]] as const) {
      const setLocalDescription = vi.fn(async () => undefined);
      const sdh = addOfferRollback({ peerConnection: { signalingState: state, setLocalDescription } as unknown as RTCPeerConnection });
      await sdh.rollbackDescription();
      expect(setLocalDescription, state).toHaveBeenCalledTimes(calls);
      if (calls) expect(setLocalDescription).toHaveBeenCalledWith({ type: 'rollback' });
    }
    await addOfferRollback({}).rollbackDescription(); // no connection yet: nothing to do
  });
});

describe('restoringAnswer', () => {
  const far = sdp('m=audio 22600 RTP/SAVPF 0 8', 'a=ice-ufrag:FAR', 'a=setup:actpass', 'a=mid:1', 'a=sendrecv');
  const ours = (ufrag: string, setup: string) => sdp('m=audio 9 UDP/TLS/RTP/SAVPF 0 8', `a=ice-ufrag:${ufrag}`, `a=setup:${setup}`, 'a=mid:1');
  it("is the far end's agreed offer as an answer that keeps the phone's DTLS role", () => {
    expect(restoringAnswer({ sdp: ours('A', 'actpass') }, { sdp: ours('A', 'active') }, { type: 'offer', sdp: far })).toEqual({ type: 'answer', sdp: far.replace('a=setup:actpass', 'a=setup:passive') });
    expect(restoringAnswer({ sdp: ours('A', 'actpass') }, { sdp: ours('A', 'passive') }, { type: 'offer', sdp: far })?.sdp).toContain('a=setup:active\r\n');
  });
  it("is the far end's agreed answer as it was when the phone offered last", () => {
    const answer = far.replace('a=setup:actpass', 'a=setup:active');
    expect(restoringAnswer({ sdp: ours('A', 'actpass') }, { sdp: ours('A', 'actpass') }, { type: 'answer', sdp: answer })).toEqual({ type: 'answer', sdp: answer });
  });
  it('is null for an ICE restart offer, or with no agreed session', () => {
    expect(restoringAnswer({ sdp: ours('B', 'actpass') }, { sdp: ours('A', 'active') }, { type: 'offer', sdp: far })).toBeNull();
    expect(restoringAnswer({ sdp: ours('A', 'actpass') }, null, { type: 'offer', sdp: far })).toBeNull();
    expect(restoringAnswer({ sdp: ours('A', 'actpass') }, { sdp: ours('A', 'active') }, null)).toBeNull();
  });
});

describe('addOfferRollback, a refused re-offer without ICE restart', () => {
  it("settles it with the far end's agreed description, the directions set back to the agreed ones, no rollback", async () => {
    const far = sdp('m=audio 22600 RTP/SAVPF 0', 'a=ice-ufrag:FAR', 'a=setup:actpass', 'a=sendrecv');
    const setLocalDescription = vi.fn(async () => undefined);
    const setRemoteDescription = vi.fn(async () => undefined);
    const transceiver = { direction: 'sendonly', currentDirection: 'sendrecv' };
    const pc = {
      signalingState: 'have-local-offer',
      pendingLocalDescription: { sdp: sdp('a=ice-ufrag:A', 'a=setup:actpass', 'a=sendonly') },
      currentLocalDescription: { sdp: sdp('a=ice-ufrag:A', 'a=setup:active') },
      currentRemoteDescription: { type: 'offer', sdp: far },
      getTransceivers: () => [transceiver],
      setLocalDescription,
      setRemoteDescription,
    };
    await addOfferRollback({ peerConnection: pc as unknown as RTCPeerConnection }).rollbackDescription();
    expect(setLocalDescription).not.toHaveBeenCalled();
    expect(setRemoteDescription).toHaveBeenCalledWith({ type: 'answer', sdp: far.replace('a=setup:actpass', 'a=setup:passive') });
    expect(transceiver.direction).toBe('sendrecv');
  });
});
