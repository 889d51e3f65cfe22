// Network-change bench (issue 19 figures): the audio gap of a call when the operator's network
// changes under it, over KOE_BENCH_RUNS runs (default 20), on the real stack with Koe's renderer
// in Chromium and baresip as the customer. One call stays up through all runs.
// A change, as the phone meets it when Wi-Fi gives way to a cable or 4G: the SIP WebSocket is
// reset (a TCP proxy between the page and Kamailio) and the call's old media path goes silent
// for good (iptables drops Chromium's current media ports), while new connections work at once.
// The gap is the time from the change until the customer's audio packets arrive again (the
// page's inbound-rtp stats every 50 ms); the silence heard (the tone's level in a 50 ms FFT log)
// is shorter: WebRTC's loss concealment stretches the last audio for a few hundred ms. In the same run, the baseline: the SIP WebSocket alone reset, the
// media path intact (the phone re-registers and restarts ICE all the same): the longest silence
// that the recovery itself causes.
import { freePort, startStack } from '../../deploy/stack';
import { Baresip } from '../integration/telephony/baresip';
import { longestSilence, mediaPorts, operatorPage, rtpBackAt, rtpLog, startToneLog, threeOperatorWorld, toneLog } from '../e2e/softphone-support';
import { launchChromium } from '../support/devhost-harness';
import { TcpProxy } from '../support/tcp-proxy';
import { assertIptables, UdpCut } from '../support/udp-cut';
import type { Bench, Table } from './run';

const RUNS = Math.max(1, Number(process.env.KOE_BENCH_RUNS ?? 20));
const PASSWORD = 'Bench-Koe-2026!';
const CALLER = '+819012340019';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

const bench: Bench = async (log) => {
  assertIptables();
  const port = await freePort('tcp');
  const stack = await startStack({
    gatewayConfig: { jwt: { secret: 'network-bench-secret-0123456789-abcdef' }, authRateLimit: { capacity: 1e6, refillPerMinute: 1e6 }, corsOrigins: [`http://127.0.0.1:${port}`] },
  });
  const sipWs = new URL(stack.sip.wsUrl);
  const proxy = await TcpProxy.start({ host: sipWs.hostname, port: Number(sipWs.port) });
  const browser = await launchChromium();
  const cut = new UdpCut();
  let pstn: Baresip | null = null;
  let op: Awaited<ReturnType<typeof operatorPage>> | null = null;
  try {
    const world = await threeOperatorWorld(stack.gateway.ctx, {
      orgName: 'ベンチ', agents: { wrapUpSeconds: 600 }, campaignName: 'ベンチ窓口', disposition: '解決', didPrefix: '+8131237', assigned: ['a'], password: PASSWORD,
    });
    op = await operatorPage(browser, stack, {
      username: world.users.a.username, password: PASSWORD, port, toneHz: 1000,
      urls: { gatewayUrl: stack.gatewayUrl, sipWssUrl: proxy.urlFor(stack.sip.wsUrl) },
    });
    const page = op.page;
    pstn = await Baresip.start({ trunk: stack.sip.trunk, proxy: stack.sip.udp, number: CALLER, toneHz: 440 });
    pstn.dial(`sip:${world.did}@${stack.sip.domain}`);
    await page.getByTestId('ringing').waitFor({ timeout: 10_000 });
    await page.getByTestId('answer').click();
    await page.locator('[data-testid="call"][data-phase="established"]').waitFor({ timeout: 10_000 });
    await sleep(1000);
    await startToneLog(page, 440);
    await sleep(1000);

    const registered = () => page.locator('[data-testid="status-phone"][data-registration="registered"]').waitFor({ timeout: 15_000 });
    /**
     * The gap after a change at `t0`: from t0 until the customer's audio packets arrive again
     * (at most 15 s; NaN: never back). A change that never stopped the packets is a broken run.
     */
    const gapAfter = async (t0: number) => {
      for (const end = t0 + 15_000; Date.now() < end; await sleep(50)) {
        const { stalled, back } = rtpBackAt(await rtpLog(page), t0);
        if (back !== null) return back - t0;
        if (!stalled && Date.now() - t0 > 3000) throw new Error('the media never stopped: the cut did not take');
      }
      return NaN;
    };
    const changes: number[] = [];
    const heardSilence: number[] = [];
    const drops: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // baseline: the WebSocket alone, the media path intact
      let t0 = Date.now();
      proxy.cut();
      proxy.restore();
      await sleep(300);
      await registered();
      await sleep(2000);
      drops.push(longestSilence(await toneLog(page), t0, Date.now()));
      // a network change: the WebSocket reset and the old media path gone for good
      const ports = (await mediaPorts(page)).slice(1); // Chromium's own (local candidates)
      t0 = Date.now();
      cut.apply(ports);
      proxy.cut();
      proxy.restore();
      const gap = await gapAfter(t0);
      changes.push(gap);
      heardSilence.push(longestSilence(await toneLog(page), t0, Date.now()));
      await registered();
      await sleep(1500);
      log(`run ${run + 1}/${RUNS}: network change -> audio packets back ${gap} ms (silence heard ${heardSilence.at(-1)} ms); WebSocket drop alone: longest silence ${drops.at(-1)} ms`);
      if (Number.isNaN(gap)) throw new Error(`run ${run + 1}: the audio never came back`);
    }
    const row = (what: string, xs: number[]) => ({ what, runs: xs.length, 'p50 ms': pct(xs, 50), 'p95 ms': pct(xs, 95), 'max ms': Math.max(...xs) });
    const tables: Table[] = [
      {
        title: `Audio gap at the operator (one call, ${RUNS} runs, real Kamailio + rtpengine + Chromium)`,
        rows: [
          row('network change -> the customer\'s audio packets arrive again', changes),
          row('network change: silence heard (concealment hides the rest)', heardSilence),
          row('baseline: WebSocket reset alone, silence heard', drops),
        ],
      },
    ];
    pstn.hangup();
    return tables;
  } finally {
    cut.lift();
    await pstn?.stop().catch((e: unknown) => log(`baresip stop: ${String(e)}`));
    await op?.close();
    await browser.close().catch((e: unknown) => log(`browser close: ${String(e)}`));
    await proxy.close();
    await stack.stop();
  }
};
export default bench;
