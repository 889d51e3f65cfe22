// The three-way call's local mix (renderer/src/features/phone/conference-mix.ts) on a fake audio
// graph: which source reaches which leg's sender, the microphone swap, the mute, the way back to
// the plain microphone when a leg ends, and a failed start undone. Real WebAudio in Chromium is
// the e2e test's (tests/e2e/softphone-conference.test.ts).
import { describe, expect, it } from 'vitest';
import { ConferenceMix, type MixLeg, type MixTrack } from '../../../renderer/src/features/phone/conference-mix';
import { Graph, Sender, Track } from '../../support/fake-audio-graph';

function world() {
  const graph = new Graph();
  const micA = new Track('micA');
  const micB = new Track('micB');
  const a = new Sender(micA);
  const b = new Sender(micB);
  const legs: [MixLeg, MixLeg] = [
    { id: 'consult', sender: a, remote: new Track('colleague') },
    { id: 'customer', sender: b, remote: new Track('customer') },
  ];
  const deps = { context: () => graph, streamOf: (track: MixTrack) => ({ track }) };
  return { graph, micA, micB, a, b, legs, deps };
}

describe('conference mix (fake audio graph)', () => {
  it('each leg sends the microphone plus the other leg\'s remote audio; no leg hears itself', async () => {
    const { graph, micA, a, b, legs, deps } = world();
    const mix = await ConferenceMix.start(legs, deps);
    expect(graph.state).toBe('running');
    // the consultation's sender: the operator + the customer; the customer's: the operator + the colleague
    expect(graph.heardOn(a.track)).toEqual(['customer', 'micA']);
    expect(graph.heardOn(b.track)).toEqual(['colleague', 'micA']);
    expect(a.track).not.toBe(micA);
    expect(mix.mic).toBe(micA);
    expect(mix.ids).toEqual(['consult', 'customer']);
  });

  it('mute is the microphone track (silence in both mixes); a new microphone replaces the mic source in both, keeps the mute, stops the old one', async () => {
    const { graph, micA, a, b, legs, deps } = world();
    const mix = await ConferenceMix.start(legs, deps);
    mix.setMuted(true);
    expect(micA.enabled).toBe(false);
    const usb = new Track('usb');
    mix.replaceMic(usb);
    expect(graph.heardOn(a.track)).toEqual(['customer', 'usb']);
    expect(graph.heardOn(b.track)).toEqual(['colleague', 'usb']);
    expect(usb.enabled).toBe(false);
    expect(micA.readyState).toBe('ended');
    // no renegotiation-like churn: the senders still carry the same mix tracks
    expect(a.replaced).toHaveLength(1);
    expect(b.replaced).toHaveLength(1);
  });

  it('a leg ends: the other gets the plain (current) microphone back with its mute, the graph closes, spare microphones are stopped', async () => {
    const { graph, micB, a, b, legs, deps } = world();
    const mix = await ConferenceMix.start(legs, deps);
    const usb = new Track('usb');
    mix.replaceMic(usb);
    mix.setMuted(true);
    await mix.end('consult');
    expect(b.track).toBe(usb);
    expect(usb.enabled).toBe(false);
    expect(usb.readyState).toBe('live');
    expect(a.replaced).toHaveLength(1); // the ended leg is left alone
    expect(micB.readyState).toBe('ended'); // the customer call's own microphone is not carried any more
    expect(graph.closed).toBe(true);
    expect(graph.edges.size).toBe(0);
    expect(graph.dests.every((d) => d.track.readyState === 'ended')).toBe(true);
  });

  it('the customer leg ends: the consultation keeps its own microphone', async () => {
    const { micA, micB, a, legs, deps } = world();
    const mix = await ConferenceMix.start(legs, deps);
    await mix.end('customer');
    expect(a.track).toBe(micA);
    expect(micA.readyState).toBe('live');
    expect(micB.readyState).toBe('ended');
  });

  it('a refused replaceTrack undoes the start: both senders carry their microphones again, the graph is closed', async () => {
    const { graph, micA, micB, a, b, legs, deps } = world();
    b.failOn = 'any';
    await expect(ConferenceMix.start(legs, deps)).rejects.toThrow('replaceTrack refused');
    expect(a.track).toBe(micA);
    expect(b.track).toBe(micB);
    expect(micA.readyState).toBe('live');
    expect(graph.closed).toBe(true);
    expect(graph.edges.size).toBe(0);
  });

  it('no microphone on either call: refused before anything is built', async () => {
    const { graph, legs, deps } = world();
    (legs[0].sender as Sender).track = null;
    (legs[1].sender as Sender).track = null;
    await expect(ConferenceMix.start(legs, deps)).rejects.toThrow(/no microphone/);
    expect(graph.dests).toHaveLength(0);
  });
});
