// Verification time of a 150 MB update artifact (docs/updates.md "Figures"), measured once:
//   npx tsx scripts/bench-update-verify.ts [MB]
// 1. sha512 of the file streamed from disk (what the release tool does);
// 2. the whole UpdateService check against a loopback feed: metadata verified, the artifact
//    streamed over HTTP under its caps, hashed and written, then handed on.
// Not a test: no timed assertion anywhere (two shared cores).
import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeytarVault, type KeytarLike } from '../main/secrets/vault';
import { UpdateService } from '../main/services/updates';
import { digestFile } from '../main/updates/release';
import { artifactBytes, Feed, makeKeys, serveFeed, targetFor } from '../tests/support/update-feed';

const mb = Number(process.argv[2] ?? 150);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-update-bench-'));
const mem = new Map<string, string>();
const keytar: KeytarLike = { getPassword: async (_s, a) => mem.get(a) ?? null, setPassword: async (_s, a, p) => void mem.set(a, p), deletePassword: async (_s, a) => mem.delete(a) };
try {
  const bytes = artifactBytes('bench', mb * 1024 * 1024);
  const file = path.join(dir, 'artifact.bin');
  fs.writeFileSync(file, bytes);
  let t = performance.now();
  await digestFile(file);
  const hashMs = performance.now() - t;

  const feed = new Feed(makeKeys(), () => Date.now());
  const root = feed.rotateRoot();
  feed.publish([{ target: targetFor(bytes, { version: '9.9.9' }), bytes }]);
  const server = await serveFeed(feed);
  const service = new UpdateService({
    fetch: (url, init) => fetch(url, init),
    trustRoot: root,
    policy: () => ({ updates: 'notify', updateUrl: server.url, updateChannel: 'stable' }),
    running: '1.0.0',
    platform: 'linux',
    arch: 'x64',
    dir: path.join(dir, 'updates'),
    vault: new KeytarVault(keytar, 'bench'),
    deviceKeyId: async () => 'bench',
    now: () => Date.now(),
    installer: null,
    log: { warn: () => undefined, error: (m, f) => process.stderr.write(`${m} ${JSON.stringify(f)}\n`) },
  });
  t = performance.now();
  const st = await service.check();
  const checkMs = performance.now() - t;
  await server.close();
  process.stdout.write(
    `${mb} MB artifact, ${os.cpus().length} cores (${os.cpus()[0]?.model}), node ${process.version}\n` +
      `  sha512 streamed from disk: ${hashMs.toFixed(0)} ms (${((mb / hashMs) * 1000).toFixed(0)} MB/s)\n` +
      `  full check over loopback HTTP (metadata verified, download + sha512 + write): ${checkMs.toFixed(0)} ms -> ${st.state}\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
