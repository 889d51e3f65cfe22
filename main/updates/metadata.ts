import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { AppVersion } from '../../shared/policy';
import { canonicalJson } from './canonical-json';

/**
 * Koe's update metadata, in the manner of The Update Framework (docs/updates.md):
 *  - root.json: the keys and the threshold of each role (root, release, timestamp), versioned, expiring;
 *  - release.json (TUF's targets + snapshot in one): every artifact offered, per channel and platform/arch;
 *  - timestamp.json: short-lived, binds the current release.json's version and sha512.
 * Each file is `{ signed, signatures }`; a signature is Ed25519 over canonicalJson(signed).
 */

export const ROLES = ['root', 'release', 'timestamp'] as const;
export type Role = (typeof ROLES)[number];

/** MAJOR.MINOR.PATCH with an optional pre-release (1.4.0-beta.2); no build metadata (it has no order). */
export const Version = AppVersion;
const Expires = z.iso.datetime({ offset: false });
const MetaVersion = z.number().int().min(1).max(2 ** 31);
const KeyId = z.string().regex(/^[0-9a-f]{64}$/);
const Hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

export const PublicKey = z
  .object({ keytype: z.literal('ed25519'), scheme: z.literal('ed25519'), keyval: z.object({ public: Hex(32) }).strict() })
  .strict();
export type PublicKey = z.infer<typeof PublicKey>;

const RoleKeys = z.object({ keyids: z.array(KeyId).min(1).max(16), threshold: z.number().int().min(1).max(16) }).strict();

export const RootSigned = z
  .object({
    _type: z.literal('root'),
    version: MetaVersion,
    expires: Expires,
    keys: z.record(KeyId, PublicKey),
    roles: z.object({ root: RoleKeys, release: RoleKeys, timestamp: RoleKeys }).strict(),
  })
  .strict();
export type RootSigned = z.infer<typeof RootSigned>;

export const Channel = z.enum(['stable', 'beta']);
export type Channel = z.infer<typeof Channel>;
export const Platform = z.enum(['linux', 'win32', 'darwin']);
export const Arch = z.enum(['x64', 'arm64']);

/** A file name only: no directory, no `..`, nothing a URL or a path would read differently. */
export const FileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/).refine((n) => !n.includes('..'), 'no ".."');

export const Target = z
  .object({
    channel: Channel,
    platform: Platform,
    arch: Arch,
    /** The app version inside the artifact. */
    version: Version,
    file: FileName,
    size: z.number().int().min(1).max(4 * 1024 ** 3),
    sha512: Hex(64),
    /** The oldest app version still supported on this channel: nothing (not even a pin) installs below it. */
    minVersion: Version,
    /** The share of devices offered this version (staged rollout), 0..1. */
    rollout: z.number().min(0).max(1),
  })
  .strict();
export type Target = z.infer<typeof Target>;

export const ReleaseSigned = z
  .object({ _type: z.literal('release'), version: MetaVersion, expires: Expires, targets: z.array(Target).max(1000) })
  .strict();
export type ReleaseSigned = z.infer<typeof ReleaseSigned>;

export const TimestampSigned = z
  .object({
    _type: z.literal('timestamp'),
    version: MetaVersion,
    expires: Expires,
    release: z.object({ version: MetaVersion, length: z.number().int().min(1), sha512: Hex(64) }).strict(),
  })
  .strict();
export type TimestampSigned = z.infer<typeof TimestampSigned>;

const Signature = z.object({ keyid: KeyId, sig: z.string().regex(/^[0-9a-f]{128}$/) }).strict();
export const Envelope = z.object({ signed: z.unknown(), signatures: z.array(Signature).max(32) }).strict();
export interface Signed<T> {
  signed: T;
  signatures: { keyid: string; sig: string }[];
}

/** The key id: sha256 of the canonical public key object (as TUF does). */
export function keyIdOf(key: PublicKey): string {
  return createHash('sha256').update(canonicalJson(key)).digest('hex');
}

/** The metadata form of an Ed25519 public (or private: its public half) key. */
export function publicKeyOf(key: KeyObject): PublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new Error('Koe update keys are Ed25519');
  const spki = pub.export({ format: 'der', type: 'spki' });
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: spki.subarray(spki.length - 32).toString('hex') } };
}

export function keyObjectOf(key: PublicKey): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.keyval.public, 'hex').toString('base64url') }, format: 'jwk' });
}

/** Signs `signed` with each private key (the release tool; never in the app). */
export function signMetadata<T>(signed: T, privateKeys: KeyObject[]): Signed<T> {
  const bytes = Buffer.from(canonicalJson(signed), 'utf8');
  return {
    signed,
    signatures: privateKeys.map((k) => ({ keyid: keyIdOf(publicKeyOf(k)), sig: edSign(null, bytes, k).toString('hex') })),
  };
}

/**
 * The distinct keys of `role` (as `root` defines them) whose signature over `signedBytes` (the
 * canonical JSON of the file's `signed` part, as received) verifies. A key listed twice counts
 * once; a signature by a key outside the role counts for nothing.
 */
export function validSigners(root: RootSigned, role: Role, signedBytes: Uint8Array, signatures: { keyid: string; sig: string }[]): Set<string> {
  const allowed = new Set(root.roles[role].keyids);
  const ok = new Set<string>();
  for (const s of signatures) {
    if (!allowed.has(s.keyid) || ok.has(s.keyid)) continue;
    const key = root.keys[s.keyid];
    if (!key || keyIdOf(key) !== s.keyid) continue;
    if (edVerify(null, signedBytes, keyObjectOf(key), Buffer.from(s.sig, 'hex'))) ok.add(s.keyid);
  }
  return ok;
}

/** Semantic-version order (pre-releases before their release: 1.2.0-beta.1 < 1.2.0). */
export function compareVersions(a: string, b: string): number {
  const [ca, pa] = split(a);
  const [cb, pb] = split(b);
  for (let i = 0; i < 3; i++) if (ca[i] !== cb[i]) return ca[i]! < cb[i]! ? -1 : 1;
  if (!pa && !pb) return 0;
  if (!pa) return 1;
  if (!pb) return -1;
  const xa = pa.split('.');
  const xb = pb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const x = xa[i];
    const y = xb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) < Number(y) ? -1 : 1;
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function split(v: string): [number[], string | undefined] {
  const m = Version.parse(v);
  const dash = m.indexOf('-');
  const core = (dash < 0 ? m : m.slice(0, dash)).split('.').map(Number);
  return [core, dash < 0 ? undefined : m.slice(dash + 1)];
}
