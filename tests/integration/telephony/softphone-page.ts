// A SIP.js 0.21 page in Chromium (playwright-core, /usr/bin/chromium) as the operator's
// softphone: served from loopback (an allowed Origin), its "voice" an OscillatorNode, what it
// hears measured with an AnalyserNode FFT on the remote stream.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import ts from 'typescript';
import { chromium, type Browser, type Page } from 'playwright-core';

const SIPJS = path.resolve('node_modules/sip.js/lib');
const GUARD = path.resolve('renderer/src/features/phone/sip-guard.ts');

const PAGE = `<!doctype html><meta charset="utf-8"><title>softphone test</title><audio id="remote" autoplay muted></audio>
<script type="module">
import { UserAgent, Registerer, Inviter, Web, SessionState } from '/sip/index.js';
import { installRequestGuard, addOfferRollback } from '/koe/sip-guard.js';
const out = (window.koe = { log: [], state: 'init', level: null, refused: [], reinvites: [] });
window.startPhone = async (cfg) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const osc = ctx.createOscillator();
  osc.frequency.value = cfg.toneHz;
  const gain = ctx.createGain(); gain.gain.value = 0.5;
  osc.connect(gain);
  osc.start();
  const ua = new UserAgent({
    uri: UserAgent.makeURI(cfg.aor),
    transportOptions: { server: cfg.wsUrl },
    authorizationUsername: cfg.username,
    authorizationPassword: cfg.password,
    logLevel: 'error',
    // cfg.guard: Koe's phone fixes (sip-guard.ts): offer rollback here, the request guard below
    sessionDescriptionHandlerFactory: ((base) => (s, o) => (cfg.guard ? addOfferRollback(base(s, o)) : base(s, o)))(Web.defaultSessionDescriptionHandlerFactory(async () => {
      // a fresh track per call: SIP.js stops the local tracks when a session ends
      const d = ctx.createMediaStreamDestination();
      gain.connect(d);
      return d.stream;
    })),
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [], bundlePolicy: 'balanced', rtcpMuxPolicy: 'require' } },
    delegate: {
      onInvite: (inv) => {
        out.invitedAt = Date.now();
        // the bench's baseline: a minimal "ringing" paint, accept, first remote audio energy
        out.invitedPerf = performance.now();
        out.paintedPerf = out.acceptPerf = out.audioPerf = null;
        const ring = document.createElement('p');
        ring.textContent = 'ringing ' + inv.remoteIdentity.uri.user;
        document.body.appendChild(ring);
        // the frame's time, as Koe's paint marks take it (renderer PhonePanel / CustomerCard)
        requestAnimationFrame((frame) => { out.paintedPerf = frame; ring.remove(); });
        out.headers = { campaign: inv.request.getHeader('X-Koe-Campaign'), did: inv.request.getHeader('X-Koe-DID'), from: inv.remoteIdentity.uri.user };
        out.inviteBody = inv.request.body;
        out.callId = inv.request.callId;
        watch(inv);
        out.acceptPerf = performance.now();
        inv.accept();
      },
    },
  });
  // cfg.guard: the phone's request guard (renderer/src/features/phone/sip-guard.ts), as Koe's phone installs it
  if (cfg.guard) installRequestGuard(ua, (m, r) => out.refused.push({ method: m.method, status: r.statusCode, headers: r.extraHeaders }));
  // a test's handle on the call: dial (cfg: delayed offer), re-INVITE
  window.dial = async (target, opts = {}) => {
    const inv = new Inviter(ua, UserAgent.makeURI(target), { inviteWithoutSdp: !!opts.withoutSdp });
    out.callId = inv.request.callId;
    watch(inv);
    await inv.invite();
  };
  window.reinvite = () => new Promise((resolve) => {
    out.session.invite({ requestDelegate: { onAccept: (r) => resolve(r.message.statusCode), onReject: (r) => resolve(r.message.statusCode) } }).catch((e) => resolve('error ' + e.message));
  });
  // a blind transfer of the current call (REFER in the dialog; SIP.js answers Kamailio's challenge)
  window.refer = (target) => new Promise((resolve) => {
    out.session.refer(UserAgent.makeURI(target), { requestDelegate: { onAccept: (r) => resolve(r.message.statusCode), onReject: (r) => resolve(r.message.statusCode) } }).catch((e) => resolve('error ' + e.message));
  });
  function watch(inv) {
        out.session = inv;
        inv.delegate = { onInvite: (req, res, code) => out.reinvites.push({ hadSdp: !!req.body, status: code }) };
        inv.stateChange.addListener((s) => {
          out.state = s;
          if (s === SessionState.Established) {
            out.establishedAt = Date.now();
            const pc = inv.sessionDescriptionHandler.peerConnection;
            const stream = new MediaStream(pc.getReceivers().map((r) => r.track).filter(Boolean));
            document.getElementById('remote').srcObject = stream;
            const an = ctx.createAnalyser();
            an.fftSize = 4096;
            ctx.createMediaStreamSource(stream).connect(an);
            const bins = new Float32Array(an.frequencyBinCount);
            const hz = ctx.sampleRate / an.fftSize;
            const td = new Float32Array(an.fftSize);
            const energy = () => {
              if (out.audioPerf != null || inv.state === SessionState.Terminated) return;
              an.getFloatTimeDomainData(td);
              if (td.some((x) => Math.abs(x) > 0.01)) out.audioPerf = performance.now();
              else setTimeout(energy, 2);
            };
            energy();
            out.samples = [];
            out.timer = setInterval(() => {
              an.getFloatFrequencyData(bins);
              const at = (f) => Math.max(bins[Math.round(f / hz) - 1], bins[Math.round(f / hz)], bins[Math.round(f / hz) + 1]);
              out.samples.push({ t: Date.now(), target: at(cfg.expectHz), off: at(cfg.expectHz * 1.37) });
            }, 100);
          }
          if (s === SessionState.Terminated) clearInterval(out.timer);
        });
  }
  await ua.start();
  const reg = new Registerer(ua);
  await new Promise((resolve, reject) => {
    reg.stateChange.addListener((s) => { if (s === 'Registered') resolve(); });
    reg.register({ requestDelegate: { onReject: (r) => reject(new Error('register rejected ' + r.message.statusCode)) } }).catch(reject);
  });
  out.state = 'registered';
};
</script>`;

export class SoftphonePage {
  private constructor(
    readonly browser: Browser,
    readonly page: Page,
    readonly server: Server,
    readonly origin: string,
  ) {}

  static async open(): Promise<SoftphonePage> {
    const server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      if (url.pathname === '/koe/sip-guard.js') {
        // the phone's own guard as it is (no imports: only its types are stripped)
        const js = ts.transpileModule(await readFile(GUARD, 'utf8'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
        return;
      }
      if (url.pathname.startsWith('/sip/')) {
        const file = path.join(SIPJS, path.normalize(url.pathname.slice(5)));
        if (!file.startsWith(SIPJS)) return res.writeHead(403).end();
        try {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(file));
        } catch {
          res.writeHead(404).end();
        }
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run',
      ],
    });
    const context = await browser.newContext({ permissions: ['microphone'] });
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => typeof (window as any).startPhone === 'function');
    return new SoftphonePage(browser, page, server, origin);
  }

  async close() {
    await this.browser.close();
    await new Promise((r) => this.server.close(r));
  }
}
