import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { UPDATE_REFUSAL_CODES } from '../../shared/ipc/contract';
import { canonicalJson, CanonicalJsonError } from './canonical-json';
import {
  compareVersions,
  Envelope,
  keyIdOf,
  ReleaseSigned,
  RootSigned,
  TimestampSigned,
  validSigners,
  type Role,
  type Signed,
  type Target,
} from './metadata';

/** Why an update was refused: one stable code per check (the list is the IPC contract's; docs/updates.md explains each). */
export type RefusalCode = (typeof UPDATE_REFUSAL_CODES)[number];

export class UpdateRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    /** Facts safe to log (versions, roles, counts): never a key, a URL's credentials or file contents. */
    readonly detail: Record<string, string | number> = {},
  ) {
    super(`update refused: ${code}`);
    this.name = 'UpdateRefusal';
  }
}

/** The highest metadata versions this PC has trusted: nothing lower is accepted again. */
export interface VersionFloors {
  root: number;
  timestamp: number;
  release: number;
}

const ROLE_THRESHOLD: Record<Role, RefusalCode> = { root: 'root_threshold', release: 'release_threshold', timestamp: 'timestamp_threshold' };

/** A parsed file: its checked `signed` part, its signatures, and the canonical bytes they must cover (from the file as received, not the parsed copy). */
type Parsed<T> = Signed<T> & { canonical: Uint8Array };

function parse<S extends z.ZodType>(bytes: Uint8Array, schema: S, role: Role): Parsed<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    // the bytes are not JSON: refused with its code (the caller logs it), nothing of the bytes is kept
    throw new UpdateRefusal('metadata_invalid', { role, why: 'not JSON' });
  }
  const env = Envelope.safeParse(json);
  const signed = env.success ? schema.safeParse(env.data.signed) : null;
  if (!env.success || !signed?.success) throw new UpdateRefusal('metadata_invalid', { role, why: 'schema' });
  let canonical: Uint8Array;
  try {
    canonical = Buffer.from(canonicalJson(env.data.signed), 'utf8');
  } catch (err) {
    if (!(err instanceof CanonicalJsonError)) throw err;
    // a value without a canonical form (-0, a lone surrogate): nothing could have signed it
    throw new UpdateRefusal('metadata_invalid', { role, why: 'not canonical' });
  }
  return { signed: signed.data, signatures: env.data.signatures, canonical };
}

function requireThreshold(root: RootSigned, role: Role, env: Parsed<unknown>): void {
  const signers = validSigners(root, role, env.canonical, env.signatures);
  const threshold = root.roles[role].threshold;
  if (signers.size < threshold) throw new UpdateRefusal(ROLE_THRESHOLD[role], { role, valid: signers.size, threshold });
}

/** A root's own consistency: every key filed under its id, every role's keys present, a threshold it can meet. */
function checkRootShape(root: RootSigned): void {
  for (const [id, key] of Object.entries(root.keys)) if (keyIdOf(key) !== id) throw new UpdateRefusal('metadata_invalid', { role: 'root', why: 'key id' });
  for (const role of ['root', 'release', 'timestamp'] as const) {
    const r = root.roles[role];
    const distinct = new Set(r.keyids);
    if (distinct.size !== r.keyids.length || r.threshold > distinct.size || r.keyids.some((k) => !root.keys[k])) {
      throw new UpdateRefusal('metadata_invalid', { role: 'root', why: `${role} keys` });
    }
  }
}

export const sha512Hex = (bytes: Uint8Array) => createHash('sha512').update(bytes).digest('hex');

/**
 * The metadata this PC trusts, updated only through TUF's checks, in TUF's order: root (one
 * version at a time), then timestamp, then release. Pure: no I/O, the clock injected.
 */
export class TrustedMetadata {
  private rootEnv: Signed<RootSigned>;
  private timestampEnv: Signed<TimestampSigned> | null = null;
  private releaseEnv: Signed<ReleaseSigned> | null = null;
  private releaseBytes: Uint8Array | null = null;
  private timestampBytes: Uint8Array | null = null;

  /**
   * `embeddedRoot`: the root shipped inside the app (trusted because it is in the signed app;
   * still checked to be well-formed and signed by its own threshold, so a broken build fails loudly).
   */
  constructor(
    embeddedRoot: Uint8Array,
    private readonly now: () => number,
    private floors: VersionFloors = { root: 0, timestamp: 0, release: 0 },
  ) {
    const root = parse(embeddedRoot, RootSigned, 'root');
    checkRootShape(root.signed);
    requireThreshold(root.signed, 'root', root);
    this.rootEnv = root;
  }

  get root(): RootSigned {
    return this.rootEnv.signed;
  }
  get timestamp(): TimestampSigned | null {
    return this.timestampEnv?.signed ?? null;
  }
  get release(): ReleaseSigned | null {
    return this.releaseEnv?.signed ?? null;
  }
  /** The exact bytes last trusted (kept on disk by TrustedState). */
  get bytes(): { timestamp: Uint8Array | null; release: Uint8Array | null } {
    return { timestamp: this.timestampBytes, release: this.releaseBytes };
  }

  /** The floors after what was verified: the kept ones or higher. */
  versions(): VersionFloors {
    return {
      root: Math.max(this.floors.root, this.root.version),
      timestamp: Math.max(this.floors.timestamp, this.timestamp?.version ?? 0),
      release: Math.max(this.floors.release, this.release?.version ?? 0),
    };
  }

  /**
   * Root N+1: signed by the threshold of root N's root keys AND by its own threshold (TUF's
   * rotation rule: the old keys vouch for the new, the new ones prove they exist). A rotation that
   * changes the timestamp or release keys drops that role's floor (TUF's recovery from a
   * fast-forward attack by a stolen key: the new keys start again from version 1 if they must).
   */
  updateRoot(bytes: Uint8Array): void {
    const next = parse(bytes, RootSigned, 'root');
    requireThreshold(this.root, 'root', next);
    if (next.signed.version !== this.root.version + 1) throw new UpdateRefusal('root_version', { trusted: this.root.version, got: next.signed.version });
    checkRootShape(next.signed);
    requireThreshold(next.signed, 'root', next);
    const changed = (role: Role) => [...this.root.roles[role].keyids].sort().join() !== [...next.signed.roles[role].keyids].sort().join();
    if (changed('timestamp')) {
      this.floors = { ...this.floors, timestamp: 0 };
      this.timestampEnv = null;
      this.timestampBytes = null;
    }
    if (changed('release')) {
      this.floors = { ...this.floors, release: 0 };
      this.releaseEnv = null;
      this.releaseBytes = null;
    }
    this.rootEnv = next;
  }

  /** After the walk: the newest root must not be expired, nor older than the one this PC trusted before. */
  finishRoot(): void {
    if (this.root.version < this.floors.root) throw new UpdateRefusal('root_rollback', { trusted: this.floors.root, got: this.root.version });
    if (Date.parse(this.root.expires) <= this.now()) throw new UpdateRefusal('root_expired', { version: this.root.version, expires: this.root.expires });
  }

  updateTimestamp(bytes: Uint8Array, opts: { checkExpiry?: boolean } = {}): void {
    const ts = parse(bytes, TimestampSigned, 'timestamp');
    requireThreshold(this.root, 'timestamp', ts);
    const floor = Math.max(this.floors.timestamp, this.timestamp?.version ?? 0);
    if (ts.signed.version < floor) throw new UpdateRefusal('timestamp_rollback', { trusted: floor, got: ts.signed.version });
    const releaseFloor = Math.max(this.floors.release, this.release?.version ?? 0);
    if (ts.signed.release.version < releaseFloor) throw new UpdateRefusal('release_rollback', { trusted: releaseFloor, got: ts.signed.release.version });
    if (opts.checkExpiry !== false && Date.parse(ts.signed.expires) <= this.now()) {
      throw new UpdateRefusal('timestamp_expired', { version: ts.signed.version, expires: ts.signed.expires });
    }
    this.timestampEnv = ts;
    this.timestampBytes = bytes;
  }

  /** release.json: exactly the file the timestamp names (length, sha512, version), then its own signatures and expiry. */
  updateRelease(bytes: Uint8Array, opts: { checkExpiry?: boolean } = {}): void {
    const ts = this.timestamp;
    if (!ts) throw new UpdateRefusal('metadata_invalid', { role: 'release', why: 'no trusted timestamp' });
    if (bytes.length !== ts.release.length || sha512Hex(bytes) !== ts.release.sha512) {
      throw new UpdateRefusal('release_hash_mismatch', { expectedVersion: ts.release.version, length: bytes.length });
    }
    const rel = parse(bytes, ReleaseSigned, 'release');
    requireThreshold(this.root, 'release', rel);
    if (rel.signed.version !== ts.release.version) throw new UpdateRefusal('release_version_mismatch', { timestamp: ts.release.version, got: rel.signed.version });
    const floor = Math.max(this.floors.release, this.release?.version ?? 0);
    if (rel.signed.version < floor) throw new UpdateRefusal('release_rollback', { trusted: floor, got: rel.signed.version });
    if (opts.checkExpiry !== false && Date.parse(rel.signed.expires) <= this.now()) {
      throw new UpdateRefusal('release_expired', { version: rel.signed.version, expires: rel.signed.expires });
    }
    this.releaseEnv = rel;
    this.releaseBytes = bytes;
  }
}

/**
 * Where this device falls in a release's staged rollout: sha256(deviceKeyId, version) read as a
 * number in [0, 1). Stable for a device and a version (the same answer every run), independent
 * between versions (not the same 10 % of PCs first every time).
 */
export function rolloutPoint(deviceKeyId: string, version: string): number {
  const h = createHash('sha256').update(`koe-rollout\n${deviceKeyId}\n${version}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

export function inRollout(deviceKeyId: string | null, target: Target): boolean {
  if (target.rollout >= 1) return true;
  if (target.rollout <= 0 || deviceKeyId === null) return false;
  return rolloutPoint(deviceKeyId, target.version) < target.rollout;
}

export interface TargetQuery {
  channel: string;
  platform: string;
  arch: string;
  running: string;
  /** The managed policy's pinnedVersion: exactly this version, up or down. */
  pinned: string | null;
  deviceKeyId: string | null;
}

export type TargetChoice =
  | { kind: 'update'; target: Target; required: boolean }
  | { kind: 'up_to_date' }
  | { kind: 'not_in_rollout'; version: string };

/**
 * Which artifact this PC should install, from trusted release metadata:
 *  - pinned: exactly that version (IT's explicit choice may go down), if the signed metadata still
 *    lists it and it is not below the channel's minimum supported version; rollout does not apply;
 *  - otherwise the newest version above the running one whose rollout includes this device
 *    (a device below the minimum supported version takes the newest at once, rollout or not);
 *  - never below the running version: newest offered < running is refused as a downgrade.
 */
export function chooseTarget(release: ReleaseSigned, q: TargetQuery): TargetChoice {
  const mine = release.targets
    .filter((t) => t.channel === q.channel && t.platform === q.platform && t.arch === q.arch)
    .sort((a, b) => compareVersions(b.version, a.version));
  const newest = mine[0];
  if (!newest) throw new UpdateRefusal('no_target', { channel: q.channel, platform: q.platform, arch: q.arch });
  if (q.pinned !== null) {
    const pin = mine.find((t) => compareVersions(t.version, q.pinned!) === 0);
    if (!pin) throw new UpdateRefusal('pinned_not_found', { pinned: q.pinned, channel: q.channel });
    if (compareVersions(pin.version, newest.minVersion) < 0) throw new UpdateRefusal('pinned_below_minimum', { pinned: pin.version, minVersion: newest.minVersion });
    if (compareVersions(pin.version, q.running) === 0) return { kind: 'up_to_date' };
    return { kind: 'update', target: pin, required: false };
  }
  const cmp = compareVersions(newest.version, q.running);
  if (cmp < 0) throw new UpdateRefusal('downgrade', { running: q.running, offered: newest.version });
  if (cmp === 0) return { kind: 'up_to_date' };
  const required = compareVersions(q.running, newest.minVersion) < 0;
  if (required) return { kind: 'update', target: newest, required };
  for (const t of mine) {
    if (compareVersions(t.version, q.running) <= 0) break;
    if (inRollout(q.deviceKeyId, t)) return { kind: 'update', target: t, required: false };
  }
  return { kind: 'not_in_rollout', version: newest.version };
}
