// Supervision bench: one live call (baresip customer 440 Hz <-> the operator's page 1000 Hz),
// the team lead's page clicks "monitor" on the live board 20 times (KOE_BENCH_SUPERVISION_RUNS):
// click -> the lead hears both parties (FFT in the page, each tone above -60 dBFS); the lead
// leaves between runs. Also the gateway's part alone (POST /supervision) from the gateway log.
import { CUSTOMER_HZ, OPERATOR_HZ, clickAndHearBoth, supervisionWorld } from '../e2e/supervision-harness';
import type { Bench, Table } from './run';

const RUNS = Math.max(20, Number(process.env.KOE_BENCH_SUPERVISION_RUNS ?? 20));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: Bench = async (log) => {
  const w = await supervisionWorld();
  try {
    const { op, lead, pstn } = w;
    pstn.dial(`sip:${w.did}@${w.stack.sip.domain}`);
    await op.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await op.getByTestId('answer').click();
    await op.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await lead.locator(`[data-testid="monitor-${w.users.op.username}"]`).waitFor({ timeout: 5000 });
    await sleep(500);
    const hear: number[] = [];
    const gateway: number[] = [];
    const sup = w.stack.gateway.ctx.supervision;
    const origStart = sup.start.bind(sup);
    sup.start = async (...a) => {
      const t0 = performance.now();
      try {
        return await origStart(...a);
      } finally {
        gateway.push(performance.now() - t0);
      }
    };
    for (let i = 0; i < RUNS; i++) {
      const ms = await clickAndHearBoth(lead, `monitor-${w.users.op.username}`, [CUSTOMER_HZ, OPERATOR_HZ]);
      if (ms < 0) throw new Error(`run ${i + 1}: the lead did not hear both parties within 5 s`);
      hear.push(ms);
      await lead.getByTestId('supervision-leave').click();
      await lead.getByTestId('supervision-panel').waitFor({ state: 'detached' });
      await lead.locator(`[data-testid="monitor-${w.users.op.username}"]`).waitFor();
      await sleep(150);
      if ((i + 1) % 5 === 0) log(`${i + 1}/${RUNS} runs`);
    }
    pstn.hangup();
    const tables: Table[] = [
      {
        title: `Supervision: team lead clicks "monitor" -> hears both parties (${RUNS} runs, Chromium pages, rtpengine 10.5, loopback)`,
        rows: [
          { what: 'click -> hears customer and operator (ms)', p50: pct(hear, 50), p95: pct(hear, 95), max: Math.max(...hear) },
          { what: 'gateway: authorise + ng query + subscribe request + audit (ms)', p50: pct(gateway, 50), p95: pct(gateway, 95), max: Math.max(...gateway) },
        ],
      },
    ];
    return tables;
  } finally {
    await w.close();
  }
};
export default bench;
