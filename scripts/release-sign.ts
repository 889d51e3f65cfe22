// `npm run release:sign -- <command>`: Koe's update metadata from built artifacts (docs/updates.md).
//
//   keygen    --out <file.pem>                       a new Ed25519 key (private, PKCS#8 PEM; prints its key id)
//   root      --feed <dir> --expires-days N
//             --root-key K... --root-threshold N --release-key K... --release-threshold N
//             --timestamp-key K... --timestamp-threshold N --sign K...   [--embed <file>]
//             the first root, or the next one (version +1) signed by the old root's threshold and the new one's
//   release   --feed <dir> --artifact <file> --version V --channel stable|beta --platform linux|win32|darwin
//             --arch x64|arm64 --min-version V --rollout 0..1 --expires-days N --sign K...
//             --timestamp-key K --timestamp-hours N
//   timestamp --feed <dir> --timestamp-key K --timestamp-hours N   re-signs freshness (run daily: clients refuse a stale feed)
//
// K is a key file OUTSIDE this repository (refused inside it) or env:NAME (a PEM in that variable).
// Each result is verified with the app's own verifier before it is written.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Arch, Channel, FileName, keyIdOf, Platform, publicKeyOf, ReleaseSigned, Target, TimestampSigned, Version } from '../main/updates/metadata';
import { buildRelease, buildRoot, buildTimestamp, digestFile, metadataFile } from '../main/updates/release';
import { TrustedMetadata, UpdateRefusal } from '../main/updates/verify';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A key from a file outside the repository, or from an environment variable (`env:NAME`). */
export async function loadKey(ref: string, env: Record<string, string | undefined> = process.env, repo = REPO): Promise<KeyObject> {
  let pem: string;
  if (ref.startsWith('env:')) {
    const v = env[ref.slice(4)];
    if (!v) throw new UsageError(`${ref}: the variable is not set`);
    pem = v;
  } else {
    const abs = path.resolve(ref);
    const rel = path.relative(repo, abs);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) throw new UsageError(`${ref}: key files must be outside the repository (they could be committed)`);
    pem = await readFile(abs, 'utf8');
  }
  const key = pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${ref}: not an Ed25519 key`);
  return key;
}

const days = (n: number, now: number) => new Date(now + n * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const hours = (n: number, now: number) => new Date(now + n * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function highest(feed: string, suffix: string): Promise<number> {
  const names = await readdir(feed).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return Math.max(0, ...names.map((n) => new RegExp(`^(\\d+)\\.${suffix.replace('.', '\\.')}$`).exec(n)).filter((m) => m !== null).map((m) => Number(m![1])));
}

/** The feed's roots walked from 1 with the app's verifier: the tool signs nothing a client would refuse. */
async function trustedFromFeed(feed: string, now: number): Promise<TrustedMetadata> {
  const first = await readOptional(path.join(feed, '1.root.json'));
  if (!first) throw new UsageError(`${feed}: no 1.root.json (run the root command first)`);
  const t = new TrustedMetadata(first, () => now);
  for (let v = 2; ; v++) {
    const next = await readOptional(path.join(feed, `${v}.root.json`));
    if (!next) break;
    t.updateRoot(next);
  }
  return t;
}

function num(v: string | undefined, name: string, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: a number from ${min} to ${max}`);
  return n;
}

function need(v: string | undefined, name: string): string {
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

const keys = async (refs: string[] | undefined, name: string) => {
  if (!refs?.length) throw new UsageError(`--${name} is required (one or more)`);
  return Promise.all(refs.map((r) => loadKey(r)));
};

export async function run(argv: string[], now = Date.now(), out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const [command, ...rest] = argv;
  const { values: o } = parseArgs({
    args: rest,
    options: {
      out: { type: 'string' },
      feed: { type: 'string' },
      embed: { type: 'string' },
      'expires-days': { type: 'string' },
      'root-key': { type: 'string', multiple: true },
      'root-threshold': { type: 'string' },
      'release-key': { type: 'string', multiple: true },
      'release-threshold': { type: 'string' },
      'timestamp-key': { type: 'string', multiple: true },
      'timestamp-threshold': { type: 'string' },
      'timestamp-hours': { type: 'string' },
      sign: { type: 'string', multiple: true },
      artifact: { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string' },
      platform: { type: 'string' },
      arch: { type: 'string' },
      'min-version': { type: 'string' },
      rollout: { type: 'string' },
    },
    strict: true,
  });
  switch (command) {
    case 'keygen': {
      const file = path.resolve(need(o.out, 'out'));
      const rel = path.relative(REPO, file);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) throw new UsageError('--out: key files must be outside the repository');
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
      await writeFile(`${file}.pub`, createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }), { flag: 'wx' });
      out(`key ${keyIdOf(publicKeyOf(privateKey))} written to ${file} (public half: ${file}.pub)`);
      return;
    }
    case 'root': {
      const feed = need(o.feed, 'feed');
      const version = (await highest(feed, 'root.json')) + 1;
      const role = async (name: 'root' | 'release' | 'timestamp') => ({
        keys: (await keys(o[`${name}-key`], `${name}-key`)).map(publicKeyOf),
        threshold: num(o[`${name}-threshold`], `${name}-threshold`, 1, 16),
      });
      const env = buildRoot(
        { version, expires: days(num(o['expires-days'], 'expires-days', 1, 3650), now), root: await role('root'), release: await role('release'), timestamp: await role('timestamp') },
        await keys(o.sign, 'sign'),
      );
      const bytes = metadataFile(env);
      // verified as a client would: version 1 by its own threshold, the next one through the chain
      if (version === 1) new TrustedMetadata(bytes, () => now).finishRoot();
      else (await trustedFromFeed(feed, now)).updateRoot(bytes);
      await mkdir(feed, { recursive: true });
      await writeFile(path.join(feed, `${version}.root.json`), bytes, { flag: 'wx' });
      if (o.embed) await writeFile(o.embed, bytes);
      out(`root version ${version} written${o.embed ? ` (and embedded in ${o.embed})` : ''}`);
      return;
    }
    case 'release': {
      const feed = need(o.feed, 'feed');
      const trusted = await trustedFromFeed(feed, now);
      trusted.finishRoot();
      const artifact = need(o.artifact, 'artifact');
      const file = FileName.safeParse(path.basename(artifact));
      if (!file.success) throw new UsageError(`--artifact: the file name ${path.basename(artifact)} is not a plain file name`);
      const { size, sha512 } = await digestFile(artifact);
      const target = Target.parse({
        channel: Channel.parse(o.channel),
        platform: Platform.parse(o.platform),
        arch: Arch.parse(o.arch),
        version: Version.parse(o.version),
        file: file.data,
        size,
        sha512,
        minVersion: Version.parse(o['min-version']),
        rollout: num(o.rollout, 'rollout', 0, 1),
      });
      const prevVersion = await highest(feed, 'release.json');
      const prevBytes = prevVersion ? await readFile(path.join(feed, `${prevVersion}.release.json`)) : null;
      const previous = prevBytes ? ReleaseSigned.parse((JSON.parse(prevBytes.toString('utf8')) as { signed: unknown }).signed) : null;
      const rel = buildRelease({ previous, expires: days(num(o['expires-days'], 'expires-days', 1, 3650), now), add: [target] }, await keys(o.sign, 'sign'));
      const relBytes = metadataFile(rel);
      const ts = await signTimestamp(feed, relBytes, rel.signed.version, o, now);
      verifyFeed(trusted, ts, relBytes);
      await copyFile(artifact, path.join(feed, file.data));
      await writeFile(path.join(feed, `${rel.signed.version}.release.json`), relBytes, { flag: 'wx' });
      await writeFile(path.join(feed, 'timestamp.json'), ts);
      out(`release ${rel.signed.version}: ${target.channel} ${target.platform}-${target.arch} ${target.version} (${size} bytes, rollout ${target.rollout})`);
      return;
    }
    case 'timestamp': {
      const feed = need(o.feed, 'feed');
      const trusted = await trustedFromFeed(feed, now);
      trusted.finishRoot();
      const relVersion = await highest(feed, 'release.json');
      if (!relVersion) throw new UsageError(`${feed}: no release yet`);
      const relBytes = await readFile(path.join(feed, `${relVersion}.release.json`));
      const ts = await signTimestamp(feed, relBytes, relVersion, o, now);
      verifyFeed(trusted, ts, relBytes);
      await writeFile(path.join(feed, 'timestamp.json'), ts);
      out(`timestamp re-signed for release ${relVersion}`);
      return;
    }
    default:
      throw new UsageError('usage: release-sign keygen | root | release | timestamp (see the top of scripts/release-sign.ts and docs/updates.md)');
  }
}

async function signTimestamp(feed: string, relBytes: Buffer, relVersion: number, o: { 'timestamp-key'?: string[]; 'timestamp-hours'?: string }, now: number): Promise<Buffer> {
  const prev = await readOptional(path.join(feed, 'timestamp.json'));
  const prevVersion = prev ? TimestampSigned.parse((JSON.parse(prev.toString('utf8')) as { signed: unknown }).signed).version : 0;
  const env = buildTimestamp(
    { version: prevVersion + 1, expires: hours(num(o['timestamp-hours'], 'timestamp-hours', 1, 24 * 14), now), releaseFile: relBytes, releaseVersion: relVersion },
    await keys(o['timestamp-key'], 'timestamp-key'),
  );
  return metadataFile(env);
}

function verifyFeed(trusted: TrustedMetadata, ts: Buffer, rel: Buffer): void {
  trusted.updateTimestamp(ts);
  trusted.updateRelease(rel);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).catch((err: unknown) => {
    const msg = err instanceof UpdateRefusal ? `the result would be refused by clients: ${err.code} ${JSON.stringify(err.detail)}` : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`release-sign: ${msg}\n`);
    process.exit(1);
  });
}
