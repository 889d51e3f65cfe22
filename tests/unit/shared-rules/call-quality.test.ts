// The call-quality rule (issue 18 item 7): the simplified E-model at known points, the levels at
// the documented thresholds, and the sampler on getStats()-shaped readings.
import { describe, expect, it } from 'vitest';
import { delayImpairment, estimateMos, lossImpairment, mosFromR, qualityLevel, sampleQuality, type StatsEntry } from '../../../shared/rules/call-quality';

describe('the E-model', () => {
  it('maps R to MOS as G.107 Annex B does (R 93.2: 4.41, 80: 4.02, 70: 3.60, 60: 3.10, 50: 2.58; clamped at 1 and 4.5)', () => {
    expect(mosFromR(93.2)).toBeCloseTo(4.41, 2);
    expect(mosFromR(80)).toBeCloseTo(4.024, 3);
    expect(mosFromR(70)).toBeCloseTo(3.597, 3);
    expect(mosFromR(60)).toBeCloseTo(3.1, 3);
    expect(mosFromR(50)).toBeCloseTo(2.575, 3);
    expect(mosFromR(-5)).toBe(1);
    expect(mosFromR(120)).toBe(4.5);
  });

  it('delay costs 0.024 per ms, and 0.11 more per ms past 177.3 ms', () => {
    expect(delayImpairment(100)).toBeCloseTo(2.4, 5);
    expect(delayImpairment(300)).toBeCloseTo(20.697, 3);
  });

  it('loss costs by G.711 with concealment (Bpl 25.1): 1 % -> 3.64, 5 % -> 15.78; without concealment far more', () => {
    expect(lossImpairment(0)).toBe(0);
    expect(lossImpairment(1, 'pcmu')).toBeCloseTo(3.64, 2);
    expect(lossImpairment(5, 'opus')).toBeCloseTo(15.78, 2);
    expect(lossImpairment(5, 'other')).toBeCloseTo(51.08, 2);
  });

  it('a clean LAN call is about 4.4; 5 % loss with 100 ms RTT and 10 ms jitter about 3.8; 15 % loss is poor', () => {
    expect(estimateMos({ rttMs: 0, jitterMs: 0, lossPct: 0 })).toBeCloseTo(4.4, 2);
    expect(estimateMos({ rttMs: 100, jitterMs: 10, lossPct: 5 })).toBeCloseTo(3.833, 2);
    expect(estimateMos({ rttMs: 100, jitterMs: 10, lossPct: 15, codec: 'pcma' })).toBeLessThan(3.1);
    // an unknown RTT counts as none
    expect(estimateMos({ rttMs: null, jitterMs: 0, lossPct: 0 })).toBe(estimateMos({ rttMs: 0, jitterMs: 0, lossPct: 0 }));
  });
});

describe('the level', () => {
  const ok = { mos: 4.3, jitterMs: 5, lossPct: 0, rttMs: 40 };
  it('is good within every threshold, fair past one (MOS < 3.6, loss > 3 %, jitter > 30 ms, RTT > 300 ms), poor under MOS 3.1', () => {
    expect(qualityLevel(ok)).toBe('good');
    expect(qualityLevel({ ...ok, mos: 3.59 })).toBe('fair');
    expect(qualityLevel({ ...ok, lossPct: 3.1 })).toBe('fair');
    expect(qualityLevel({ ...ok, lossPct: 3 })).toBe('good');
    expect(qualityLevel({ ...ok, jitterMs: 31 })).toBe('fair');
    expect(qualityLevel({ ...ok, rttMs: 301 })).toBe('fair');
    expect(qualityLevel({ ...ok, rttMs: null })).toBe('good');
    expect(qualityLevel({ ...ok, mos: 3.09 })).toBe('poor');
  });
});

describe('the sampler', () => {
  const reading = (lost: number, received: number, extra: StatsEntry[] = []): StatsEntry[] => [
    { type: 'codec', id: 'c1', mimeType: 'audio/PCMU' },
    { type: 'inbound-rtp', kind: 'audio', codecId: 'c1', jitter: 0.012, packetsLost: lost, packetsReceived: received },
    { type: 'outbound-rtp', kind: 'audio' },
    ...extra,
  ];

  it('no audio received yet: no figures', () => {
    expect(sampleQuality([{ type: 'outbound-rtp', kind: 'audio' }], null)).toBeNull();
  });

  it('takes the loss of the interval (not of the whole call), the jitter in ms, and the RTCP round trip', () => {
    const first = sampleQuality(reading(0, 1000, [{ type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.08, fractionLost: 0 }]), null)!;
    expect(first.figures).toMatchObject({ jitterMs: 12, lossPct: 0, rttMs: 80 });
    expect(first.figures.mos).toBeGreaterThan(4.3);
    const second = sampleQuality(reading(5, 1095, [{ type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.08, fractionLost: 0.01 }]), first.counters)!;
    expect(second.figures.lossPct).toBeCloseTo(5, 5); // 5 of 100 in the interval; 1 % the other way
    expect(second.figures.mos).toBeCloseTo(estimateMos({ rttMs: 80, jitterMs: 12, lossPct: 5, codec: 'pcmu' }), 5);
    expect(qualityLevel(second.figures)).toBe('fair');
    // a clean interval after it is clean again
    const third = sampleQuality(reading(5, 1195), second.counters)!;
    expect(third.figures.lossPct).toBe(0);
  });

  it('the far end\'s report of our loss counts when it is the worse; the ICE pair\'s RTT stands in for RTCP\'s', () => {
    const s = sampleQuality(
      reading(0, 500, [
        { type: 'remote-inbound-rtp', kind: 'audio', fractionLost: 0.08 },
        { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.12 },
      ]),
      null,
    )!;
    expect(s.figures.lossPct).toBeCloseTo(8, 5);
    expect(s.figures.rttMs).toBeCloseTo(120, 5);
  });
});
