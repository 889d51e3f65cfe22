// The call-quality monitor (issue 18 item 7): every 2 s of an answered call, the phone's WebRTC
// statistics become figures (shared/rules/call-quality.ts: MOS estimate, jitter, loss, round
// trip) in a small store the call's badge reads (CallQuality.tsx); every third sample (6 s, so
// at most every 5 s) they go to the gateway as the `quality` fact, kept in the call's row for
// the lead's board. Started and stopped by the telephony object with the call's phase.
import { userStore } from '../../app/user-data';
import { logFailure } from '../../log';
import { sampleQuality, type QualityCounters, type QualityFigures } from '../../../../shared/rules/call-quality';
import { report, type PhoneLine } from './calls';
import { usePhoneStore } from './phone-store';

export const QUALITY_SAMPLE_MS = 2_000;
/** Samples between two reports to the gateway (3 x 2 s = 6 s: at most every 5 s). */
export const REPORT_EVERY = 3;

interface QualityState {
  /** The latest figures of each answered call, by the phone's call id. */
  byCall: Record<string, QualityFigures>;
}

export const useQualityStore = userStore<QualityState>('call-quality', { byCall: {} }, () => ({ byCall: {} }));

interface Watch {
  timer: ReturnType<typeof setInterval>;
  counters: QualityCounters | null;
  samples: number;
  busy: boolean;
}

export class QualityMonitor {
  private readonly watches = new Map<string, Watch>();

  constructor(private readonly line: PhoneLine) {}

  /** The call is answered (or resumed its media): sampling starts, once per call. */
  start(id: string): void {
    if (this.watches.has(id) || !this.line.phone?.stats) return;
    const watch: Watch = { timer: setInterval(() => void this.sample(id, watch), QUALITY_SAMPLE_MS), counters: null, samples: 0, busy: false };
    this.watches.set(id, watch);
  }

  /** The call ended: sampling stops and its figures go. */
  stop(id: string): void {
    const w = this.watches.get(id);
    if (w) clearInterval(w.timer);
    this.watches.delete(id);
    useQualityStore.setState((s) => {
      const { [id]: _gone, ...rest } = s.byCall;
      return { byCall: rest };
    });
  }

  stopAll(): void {
    for (const id of [...this.watches.keys()]) this.stop(id);
    useQualityStore.setState({ byCall: {} });
  }

  /** One sample (exposed for tests: the interval calls it). */
  async sample(id: string, watch = this.watches.get(id)): Promise<void> {
    const phone = this.line.phone;
    if (!watch || watch.busy || !phone?.stats) return;
    watch.busy = true;
    try {
      const entries = await phone.stats(id);
      if (this.watches.get(id) !== watch || !entries) return; // ended meanwhile, or no connection yet
      const s = sampleQuality(entries, watch.counters);
      if (!s) return;
      watch.counters = s.counters;
      useQualityStore.setState((st) => ({ byCall: { ...st.byCall, [id]: s.figures } }));
      const call = usePhoneStore.getState().calls.find((c) => c.id === id);
      if (call && watch.samples++ % REPORT_EVERY === 0) {
        const f = s.figures;
        // within the contract's bounds (a figure out of them would be refused with the socket)
        report({
          kind: 'quality',
          callId: call.sipCallId,
          mos: clamp(round(f.mos, 100), 1, 4.5),
          jitterMs: clamp(round(f.jitterMs, 10), 0, 10_000),
          lossPct: clamp(round(f.lossPct, 10), 0, 100),
          rttMs: f.rttMs === null ? null : clamp(round(f.rttMs, 10), 0, 60_000),
        });
      }
    } catch (err) {
      logFailure("reading a call's quality statistics", err);
    } finally {
      watch.busy = false;
    }
  }
}

const round = (n: number, per: number) => Math.round(n * per) / per;
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
