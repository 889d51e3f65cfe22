// The ringtone's AudioContext is made when the phone registers, not on the INVITE's path (making
// one takes 100 ms and more, which held back the first call's ringing panel and card): the ring
// reuses it, resumed; it waits suspended until then.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ringtone } from '../../renderer/src/features/phone/ringtone';
import { FakeNode } from '../support/fake-audio-nodes';

const made: FakeContext[] = [];
class FakeContext {
  state: 'running' | 'suspended' = 'running';
  currentTime = 0;
  destination = new FakeNode();
  calls: string[] = [];
  constructor() {
    made.push(this);
  }
  async suspend() {
    this.calls.push('suspend');
    this.state = 'suspended';
  }
  async resume() {
    this.calls.push('resume');
    this.state = 'running';
  }
  createGain() {
    return new FakeNode();
  }
  createOscillator() {
    return new FakeNode();
  }
}

beforeEach(() => {
  made.length = 0;
  vi.stubGlobal('AudioContext', FakeContext);
});
afterEach(() => vi.unstubAllGlobals());

describe('the ringtone made ahead of the first ring', () => {
  it('warm() makes the context once and suspends it; a ring reuses it, resumed', async () => {
    const r = new Ringtone();
    r.warm();
    r.warm();
    expect(made).toHaveLength(1);
    await Promise.resolve();
    expect(made[0]!.state).toBe('suspended');
    r.start(null);
    await Promise.resolve();
    expect(made).toHaveLength(1); // no AudioContext made on the INVITE's path
    expect(made[0]!.calls).toEqual(['suspend', 'resume']);
    expect(made[0]!.state).toBe('running');
    r.stop();
    r.start(null);
    expect(made).toHaveLength(1);
  });

  it('a ring without warm() still rings (the context is made then)', () => {
    const r = new Ringtone();
    r.start(null);
    expect(made).toHaveLength(1);
    expect(made[0]!.calls).toEqual(['resume']);
  });

  it('an AudioContext that cannot be made ahead is logged, not thrown (registration goes on); the ring tries again', () => {
    let refuse = true;
    vi.stubGlobal(
      'AudioContext',
      class extends FakeContext {
        constructor() {
          if (refuse) throw new Error('no audio output');
          super();
        }
      },
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const r = new Ringtone();
    expect(() => r.warm()).not.toThrow();
    expect(made).toHaveLength(0);
    expect([...warn.mock.calls, ...error.mock.calls].flat().join(' ')).toContain('making the ringtone ahead of the first call');
    refuse = false;
    r.start(null);
    expect(made).toHaveLength(1);
    warn.mockRestore();
    error.mockRestore();
  });
});
