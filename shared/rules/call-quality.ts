// Call quality from WebRTC statistics (issue 18 item 7): a MOS estimate by the simplified E-model
// (ITU-T G.107 with the default ratings: R0 - Is = 93.2, only delay and loss impairments), the
// level the operator and the lead see, and the sampler that turns two getStats() readings into
// figures. Pure: the renderer feeds it plain stats objects, the gateway stores what it returns.
// Thresholds: docs/telephony.md "Call quality".

export type VoiceCodec = 'pcmu' | 'pcma' | 'opus' | 'other';

export interface QualityFigures {
  /** Estimated MOS-CQE, 1..4.5 (one decimal is meaningful). */
  mos: number;
  /** Interarrival jitter of the audio we receive (RFC 3550), in ms. */
  jitterMs: number;
  /** Packet loss in the sampled interval, the worse direction, in %. */
  lossPct: number;
  /** Round trip (RTCP), in ms; null until the far end has sent a receiver report. */
  rttMs: number | null;
}

export type QualityLevel = 'good' | 'fair' | 'poor';

/** The documented thresholds (docs/telephony.md): fair below the first, poor below the second. */
export const QUALITY_THRESHOLDS = { mosFair: 3.6, mosPoor: 3.1, lossPct: 3, jitterMs: 30, rttMs: 300 } as const;

/**
 * Equipment impairment for packet loss (G.107 Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl)),
 * random loss (BurstR = 1). G.711 with packet-loss concealment: Ie 0, Bpl 25.1 (G.113 App. I).
 * Opus is not in G.113's narrowband tables: treated like G.711 with concealment (conservative: its
 * own concealment and FEC do better). Another codec: G.711 without concealment (Bpl 4.3).
 */
const LOSS_ROBUSTNESS: Record<VoiceCodec, { ie: number; bpl: number }> = {
  pcmu: { ie: 0, bpl: 25.1 },
  pcma: { ie: 0, bpl: 25.1 },
  opus: { ie: 0, bpl: 25.1 },
  other: { ie: 0, bpl: 4.3 },
};
/** Codec frame plus packetisation, ms, added to the one-way delay. */
const CODEC_DELAY_MS = 20;

/** MOS from the transmission rating R (G.107 Annex B). */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

/** Delay impairment Id for a one-way mouth-to-ear delay in ms (the simplified G.107 form). */
export function delayImpairment(oneWayMs: number): number {
  const d = Math.max(0, oneWayMs);
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
}

/** Loss impairment Ie,eff for a loss in % (0..100). */
export function lossImpairment(lossPct: number, codec: VoiceCodec = 'pcmu'): number {
  const { ie, bpl } = LOSS_ROBUSTNESS[codec];
  const ppl = Math.min(100, Math.max(0, lossPct));
  return ie + ((95 - ie) * ppl) / (ppl + bpl);
}

/**
 * The MOS estimate. One-way delay = RTT/2 + the jitter buffer (taken as twice the jitter) + the
 * codec's frame; an unknown RTT counts as none (the badge says the RTT is unknown).
 */
export function estimateMos(input: { rttMs: number | null; jitterMs: number; lossPct: number; codec?: VoiceCodec }): number {
  const oneWay = (input.rttMs ?? 0) / 2 + 2 * Math.max(0, input.jitterMs) + CODEC_DELAY_MS;
  const r = 93.2 - delayImpairment(oneWay) - lossImpairment(input.lossPct, input.codec ?? 'pcmu');
  return mosFromR(r);
}

/** The level shown: poor under MOS 3.1; fair under 3.6 or past a loss, jitter or RTT threshold. */
export function qualityLevel(f: QualityFigures): QualityLevel {
  const t = QUALITY_THRESHOLDS;
  if (f.mos < t.mosPoor) return 'poor';
  if (f.mos < t.mosFair || f.lossPct > t.lossPct || f.jitterMs > t.jitterMs || (f.rttMs !== null && f.rttMs > t.rttMs)) return 'fair';
  return 'good';
}

/** The fields of RTCStats entries the sampler reads (plain objects: no DOM type here). */
export interface StatsEntry {
  type: string;
  kind?: string;
  mediaType?: string;
  id?: string;
  codecId?: string;
  mimeType?: string;
  jitter?: number;
  packetsLost?: number;
  packetsReceived?: number;
  roundTripTime?: number;
  fractionLost?: number;
  currentRoundTripTime?: number;
  state?: string;
  nominated?: boolean;
}

/** The cumulative counters of the previous reading (the loss is of the interval between two). */
export interface QualityCounters {
  packetsLost: number;
  packetsReceived: number;
}

const isAudio = (e: StatsEntry) => (e.kind ?? e.mediaType) === 'audio';

function codecOf(entries: StatsEntry[], codecId: string | undefined): VoiceCodec {
  const mime = entries.find((e) => e.type === 'codec' && e.id === codecId)?.mimeType?.toLowerCase() ?? '';
  if (mime.endsWith('/pcmu')) return 'pcmu';
  if (mime.endsWith('/pcma')) return 'pcma';
  if (mime.endsWith('/opus')) return 'opus';
  return 'other';
}

/**
 * One reading of a call's getStats() (and the previous one's counters) -> its figures, or null
 * when there is no audio received yet. Loss: the worse of what we lost receiving in the interval
 * (inbound-rtp deltas) and what the far end reports losing of ours (remote-inbound-rtp
 * fractionLost). RTT: remote-inbound-rtp, else the ICE candidate pair's.
 */
export function sampleQuality(entries: StatsEntry[], previous: QualityCounters | null): { figures: QualityFigures; counters: QualityCounters } | null {
  const inbound = entries.find((e) => e.type === 'inbound-rtp' && isAudio(e));
  if (!inbound) return null;
  const counters = { packetsLost: Math.max(0, inbound.packetsLost ?? 0), packetsReceived: inbound.packetsReceived ?? 0 };
  const lost = counters.packetsLost - (previous?.packetsLost ?? 0);
  const received = counters.packetsReceived - (previous?.packetsReceived ?? 0);
  const inboundLoss = lost > 0 && lost + received > 0 ? (100 * lost) / (lost + received) : 0;
  const remote = entries.find((e) => e.type === 'remote-inbound-rtp' && isAudio(e));
  const outboundLoss = remote?.fractionLost !== undefined ? 100 * remote.fractionLost : 0;
  const pair = entries.find((e) => e.type === 'candidate-pair' && e.nominated && e.state === 'succeeded');
  const rttS = remote?.roundTripTime ?? pair?.currentRoundTripTime;
  const figures = {
    jitterMs: Math.max(0, (inbound.jitter ?? 0) * 1000),
    lossPct: Math.min(100, Math.max(inboundLoss, outboundLoss)),
    rttMs: rttS !== undefined ? rttS * 1000 : null,
  };
  return { figures: { ...figures, mos: estimateMos({ ...figures, codec: codecOf(entries, inbound.codecId) }) }, counters };
}
