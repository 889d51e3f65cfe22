// The dev host (Koe's main-process services + the IPC bridge) as its own Node process for the
// benches, as Electron runs main: in its own process, not in the gateway's. In the bench process
// the gateway's work (routing, building the card, PGlite's queries on the event loop) would hold
// back main's relay of the card to the renderer, which the product never sees: Electron's main
// is not the gateway. Run as a script, this file is the child: it starts the dev host from the
// JSON options in argv[2] and answers the parent over the IPC channel (page URLs, close).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ManagedPolicy } from '../../main/services/policy';

export interface DevHostProcess {
  origin: string;
  /** A URL for one page load (a fresh single-use token for the bridge). */
  pageUrl(): Promise<string>;
  close(): Promise<void>;
}

interface Options {
  port: number;
  managedPolicy: ManagedPolicy;
}

type FromChild = { kind: 'ready'; origin: string } | { kind: 'pageUrl'; url: string } | { kind: 'closed' } | { kind: 'failed'; message: string };

export async function startDevHostProcess(opts: Options): Promise<DevHostProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(opts)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (kind: FromChild['kind']) =>
    new Promise<FromChild>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.kind !== kind && m.kind !== 'failed') return;
        cleanup();
        if (m.kind === 'failed') reject(new Error(`dev host process: ${m.message}`));
        else resolve(m);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`dev host process exited (${code}) while waiting for "${kind}"`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ready = (await next('ready')) as { origin: string };
  return {
    origin: ready.origin,
    async pageUrl() {
      const answer = next('pageUrl');
      child.send({ kind: 'pageUrl' });
      return ((await answer) as { url: string }).url;
    },
    async close() {
      if (child.exitCode !== null) return;
      const closed = next('closed').catch(() => undefined);
      child.send({ kind: 'close' });
      await closed;
      child.disconnect();
    },
  };
}

// The child: started by startDevHostProcess (fork), never imported for this.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const send = (m: FromChild) => process.send!(m);
  void (async () => {
    const { startTestDevHost } = await import('../support/devhost-harness');
    const { memoryKeytar } = await import('../support/memory-keytar');
    const opts = JSON.parse(process.argv[2]!) as Options;
    const host = await startTestDevHost({ port: opts.port, managedPolicy: opts.managedPolicy, keytar: memoryKeytar() });
    process.on('message', (m: { kind: string }) => {
      if (m.kind === 'pageUrl') send({ kind: 'pageUrl', url: host.pageUrl() });
      if (m.kind === 'close') void host.close().then(() => send({ kind: 'closed' }), (err: unknown) => send({ kind: 'failed', message: String(err) }));
    });
    process.on('disconnect', () => process.exit(0));
    send({ kind: 'ready', origin: host.origin });
  })().catch((err: unknown) => {
    send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
