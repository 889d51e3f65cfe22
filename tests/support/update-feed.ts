// A signed update feed for tests, built with the release tool's own builders (main/updates/release.ts),
// and a loopback HTTP server that serves it, with per-file misbehaviours (slow, endless, swapped).
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicKeyOf, type ReleaseSigned, type Target } from '../../main/updates/metadata';
import { buildRelease, buildRoot, buildTimestamp, metadataFile } from '../../main/updates/release';

export const newKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey;

export const isoIn = (now: number, ms: number) => new Date(now + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const DAY = 86_400_000;

export interface FeedKeys {
  root: KeyObject[];
  release: KeyObject[];
  timestamp: KeyObject[];
}

export function makeKeys(): FeedKeys {
  return { root: [newKey(), newKey(), newKey()], release: [newKey()], timestamp: [newKey()] };
}

export function artifactBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha512').update(seed).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i);
    block = createHash('sha512').update(block).digest();
  }
  return out;
}

export function targetFor(bytes: Buffer, t: Partial<Target> & { version: string }): Target {
  return {
    channel: 'stable',
    platform: 'linux',
    arch: 'x64',
    file: `Koe-${t.version}.AppImage`,
    size: bytes.length,
    sha512: createHash('sha512').update(bytes).digest('hex'),
    minVersion: '0.1.0',
    rollout: 1,
    ...t,
  };
}

/** The feed's files by name, as a static host would hold them. */
export class Feed {
  readonly files = new Map<string, Buffer>();
  private rootVersion = 0;
  private tsVersion = 0;
  release: ReleaseSigned | null = null;
  constructor(
    public keys: FeedKeys,
    readonly now: () => number,
  ) {}

  /** Root N+1 with `next` keys, signed by `signers` (default: the current root keys' threshold and the new ones). */
  rotateRoot(next: FeedKeys = this.keys, opts: { threshold?: number; signers?: KeyObject[]; expiresMs?: number } = {}): Buffer {
    const version = ++this.rootVersion;
    const signers = opts.signers ?? [...new Set([...this.keys.root.slice(0, 2), ...next.root.slice(0, 2)])];
    const threshold = opts.threshold ?? 2;
    const env = buildRoot(
      {
        version,
        expires: isoIn(this.now(), opts.expiresMs ?? 365 * DAY),
        root: { keys: next.root.map(publicKeyOf), threshold },
        release: { keys: next.release.map(publicKeyOf), threshold: 1 },
        timestamp: { keys: next.timestamp.map(publicKeyOf), threshold: 1 },
      },
      signers,
    );
    this.keys = next;
    const bytes = metadataFile(env);
    this.files.set(`${version}.root.json`, bytes);
    return bytes;
  }

  /** A release adding `targets` (their artifacts served under their file names), and a fresh timestamp for it. */
  publish(artifacts: { target: Target; bytes: Buffer }[], opts: { releaseSigners?: KeyObject[]; expiresMs?: number; tsExpiresMs?: number } = {}): { release: Buffer; timestamp: Buffer } {
    const env = buildRelease({ previous: this.release, expires: isoIn(this.now(), opts.expiresMs ?? 30 * DAY), add: artifacts.map((a) => a.target) }, opts.releaseSigners ?? this.keys.release);
    this.release = env.signed;
    const release = metadataFile(env);
    this.files.set(`${env.signed.version}.release.json`, release);
    for (const a of artifacts) this.files.set(a.target.file, a.bytes);
    const timestamp = this.stamp({ expiresMs: opts.tsExpiresMs ?? DAY });
    return { release, timestamp };
  }

  /** A new timestamp for the current release. */
  stamp(opts: { expiresMs?: number; signers?: KeyObject[] } = {}): Buffer {
    const v = this.release!.version;
    const bytes = metadataFile(
      buildTimestamp({ version: ++this.tsVersion, expires: isoIn(this.now(), opts.expiresMs ?? DAY), releaseFile: this.files.get(`${v}.release.json`)!, releaseVersion: v }, opts.signers ?? this.keys.timestamp),
    );
    this.files.set('timestamp.json', bytes);
    return bytes;
  }
}

export type Behaviour = 'endless' | { slowLoris: { intervalMs: number } } | { status: number };

/** Serves a Feed over loopback HTTP; `behave` makes a file misbehave; `requests` records every path asked. */
export async function serveFeed(feed: Feed): Promise<{ url: string; requests: string[]; behave: Map<string, Behaviour>; close(): Promise<void> }> {
  const requests: string[] = [];
  const behave = new Map<string, Behaviour>();
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.replace(/^\/feed\//, ''));
    requests.push(name);
    open.add(res);
    res.on('close', () => open.delete(res));
    const b = behave.get(name);
    if (b === 'endless') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (b && typeof b === 'object' && 'slowLoris' in b) {
      res.writeHead(200);
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), b.slowLoris.intervalMs);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (b && typeof b === 'object' && 'status' in b) {
      res.writeHead(b.status).end();
      return;
    }
    const body = feed.files.get(name);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/feed/`,
    requests,
    behave,
    close: async () => {
      for (const res of open) res.destroy();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
