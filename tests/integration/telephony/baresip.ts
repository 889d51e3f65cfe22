// baresip as the scripted "PSTN customer" on the trusted trunk address: plain SIP/RTP over
// UDP from the stack's trunk port, a sine tone as its voice, what it hears recorded to WAV
// (sndfile), controlled over ctrl_tcp (netstring JSON commands and events).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../../deploy/stack';


export interface BaresipEvent {
  type?: string;
  class?: string;
  param?: string;
  peeruri?: string;
  id?: string;
  [k: string]: unknown;
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  private waiters: { match: (e: BaresipEvent) => boolean; resolve: (e: BaresipEvent) => void }[] = [];
  private buf = '';

  /**
   * The first event at or after index `from` that matches, polled every `pollMs`; after
   * `timeoutMs` an error naming the last events and `context()` (e.g. Kamailio's log tail).
   */
  async eventAfter(from: number, match: (e: BaresipEvent) => boolean, opts: { timeoutMs?: number; pollMs?: number; context?: () => string } = {}): Promise<BaresipEvent> {
    const t0 = Date.now();
    for (;;) {
      const i = this.events.findIndex((e, k) => k >= from && match(e));
      if (i >= 0) return this.events[i]!;
      if (Date.now() - t0 > (opts.timeoutMs ?? 10_000)) throw new Error(`baresip: no matching event; last ${JSON.stringify(this.events.slice(-6))}\n${opts.context?.() ?? ''}`);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 20));
    }
  }

  private constructor(
    readonly dir: string,
    readonly proc: ChildProcess,
    private readonly sock: Socket,
    readonly number: string,
    readonly output: string[],
  ) {
    sock.on('data', (d) => {
      this.buf += d.toString('utf8');
      for (;;) {
        const colon = this.buf.indexOf(':');
        if (colon < 0) return;
        const len = Number(this.buf.slice(0, colon));
        if (this.buf.length < colon + 1 + len + 1) return;
        const payload = this.buf.slice(colon + 1, colon + 1 + len);
        this.buf = this.buf.slice(colon + 1 + len + 1);
        try {
          const e = JSON.parse(payload) as BaresipEvent;
          if (e.event || e.type) {
            this.events.push(e);
            const w = this.waiters.find((x) => x.match(e));
            if (w) {
              this.waiters.splice(this.waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        } catch {
          /* responses we do not need */
        }
      }
    });
  }

  static async start(opts: { trunk: { host: string; port: number }; proxy: { host: string; port: number }; number: string; toneHz: number; autoAnswer?: boolean; /** A WAV to send instead of the tone (baresip aufile). */ audioFile?: string }): Promise<Baresip> {
    const dir = mkdtempSync(path.join(tmpdir(), 'koe-baresip-'));
    const ctrlPort = await freePort('tcp');
    writeFileSync(
      path.join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen ${opts.trunk.host}:${opts.trunk.port}`,
        `net_interface ${opts.trunk.host}`,
        'sip_trans_def udp',
        opts.audioFile ? `audio_source aufile,${opts.audioFile}` : `audio_source ausine,${opts.toneHz}`,
        'audio_player aubridge,nowhere',
        'audio_alert aubridge,nowhere',
        'ausrc_srate 48000',
        'ausrc_channels 2',
        'audio_level no',
        `snd_path ${dir}`,
        `rtp_ports 40000-49999`,
        'module_path /usr/lib/baresip/modules',
        'module g711.so',
        'module ausine.so',
        'module aufile.so',
        'module aubridge.so',
        'module sndfile.so',
        'module_app account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'accounts'),
      `<sip:${opts.number}@${opts.trunk.host}>;regint=0;audio_codecs=PCMU,PCMA;outbound="sip:${opts.proxy.host}:${opts.proxy.port};transport=udp"${opts.autoAnswer ? ';answermode=auto' : ''}\n`,
    );
    const output: string[] = [];
    const proc = spawn('/usr/bin/baresip', ['-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => output.push(d.toString()));
    proc.stderr!.on('data', (d) => output.push(d.toString()));
    const t0 = Date.now();
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`baresip exited: ${output.join('')}`);
      const sock = await new Promise<Socket | null>((resolve) => {
        const s = connect(ctrlPort, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (sock) return new Baresip(dir, proc, sock, opts.number, output);
      if (Date.now() - t0 > 10_000) throw new Error(`baresip ctrl_tcp not up: ${output.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  command(command: string, params = ''): void {
    const json = JSON.stringify({ command, params, token: String(Date.now()) });
    this.sock.write(`${Buffer.byteLength(json)}:${json},`);
  }

  dial(uri: string): void {
    this.command('dial', uri);
  }
  hangup(): void {
    this.command('hangup');
  }

  wait(match: (e: BaresipEvent) => boolean, timeoutMs = 10_000): Promise<BaresipEvent> {
    const seen = this.events.find((e) => match(e) && !(e as any)._taken);
    if (seen) {
      (seen as any)._taken = true;
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`baresip: timed out; events ${JSON.stringify(this.events.slice(-6))}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => ((e as any)._taken = true, clearTimeout(t), resolve(e)) });
    });
  }

  /** WAV files sndfile wrote: what baresip heard ("-dec") and sent ("-enc"). */
  recordings(): string[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.wav')).map((f) => path.join(this.dir, f));
  }

  async stop(): Promise<void> {
    this.sock.destroy();
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

