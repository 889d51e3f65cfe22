import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { keyIdOf, ReleaseSigned, RootSigned, signMetadata, TimestampSigned, type PublicKey, type Signed, type Target } from './metadata';

/**
 * Building signed metadata: the release tool's side (scripts/release-sign.ts) and the tests'
 * feeds. Never imported by the app: the app only verifies.
 */

export interface RoleSpec {
  keys: PublicKey[];
  threshold: number;
}

export function buildRoot(
  spec: { version: number; expires: string; root: RoleSpec; release: RoleSpec; timestamp: RoleSpec },
  signers: KeyObject[],
): Signed<RootSigned> {
  const keys: Record<string, PublicKey> = {};
  const role = (r: RoleSpec) => {
    const keyids = r.keys.map((k) => {
      const id = keyIdOf(k);
      keys[id] = k;
      return id;
    });
    return { keyids: [...new Set(keyids)], threshold: r.threshold };
  };
  const signed = RootSigned.parse({
    _type: 'root',
    version: spec.version,
    expires: spec.expires,
    roles: { root: role(spec.root), release: role(spec.release), timestamp: role(spec.timestamp) },
    keys,
  });
  return signMetadata(signed, signers);
}

/** The next release metadata: the previous targets kept (so a pinned version stays installable), this one added or replaced. */
export function buildRelease(
  spec: { previous: ReleaseSigned | null; expires: string; add: Target[]; removeVersions?: string[] },
  signers: KeyObject[],
): Signed<ReleaseSigned> {
  const same = (a: Target, b: Target) => a.channel === b.channel && a.platform === b.platform && a.arch === b.arch && a.version === b.version;
  const kept = (spec.previous?.targets ?? []).filter((t) => !spec.add.some((n) => same(n, t)) && !(spec.removeVersions ?? []).includes(t.version));
  const signed = ReleaseSigned.parse({ _type: 'release', version: (spec.previous?.version ?? 0) + 1, expires: spec.expires, targets: [...kept, ...spec.add] });
  return signMetadata(signed, signers);
}

export function buildTimestamp(spec: { version: number; expires: string; releaseFile: Uint8Array; releaseVersion: number }, signers: KeyObject[]): Signed<TimestampSigned> {
  const signed = TimestampSigned.parse({
    _type: 'timestamp',
    version: spec.version,
    expires: spec.expires,
    release: { version: spec.releaseVersion, length: spec.releaseFile.length, sha512: createHash('sha512').update(spec.releaseFile).digest('hex') },
  });
  return signMetadata(signed, signers);
}

/** A metadata file's bytes: readable (indented); signatures cover the canonical form of `signed`, not these bytes. */
export function metadataFile(env: Signed<unknown>): Buffer {
  canonicalJson(env.signed); // refuses anything without a canonical form before it is written
  return Buffer.from(`${JSON.stringify(env, null, 2)}\n`, 'utf8');
}

/** Size and sha512 of a built artifact, streamed (artifacts are hundreds of MB). */
export async function digestFile(file: string): Promise<{ size: number; sha512: string }> {
  const hash = createHash('sha512');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha512: hash.digest('hex') };
}
