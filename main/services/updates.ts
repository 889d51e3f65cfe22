import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { UpdateStatus } from '../../shared/ipc/contract';
import type { ClientPolicy } from '../../shared/policy';
import { errorFields, fallback, logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';
import type { SecretVault } from '../secrets/vault';
import { downloadArtifact, fetchMetadata, type DownloadLimits, type StreamFetch } from '../updates/download';
import { chooseTarget, TrustedMetadata, UpdateRefusal, type VersionFloors } from '../updates/verify';

/** An artifact whose every byte matched the signed size and sha512: what the installer is handed. */
export interface VerifiedArtifact {
  path: string;
  version: string;
  size: number;
  sha512: string;
  /** The running version is below the channel's minimum supported one. */
  required: boolean;
}

/**
 * The hand-over to the OS installer (electron-updater's install step, or the platform's own):
 * not built yet (it needs the Electron binary). It receives only verified artifacts; the OS's own
 * signature check (Authenticode, notarisation) stays on behind it as a second lock.
 */
export interface Installer {
  install(artifact: VerifiedArtifact): Promise<void>;
}

export type { UpdateStatus };

export type UpdatePolicy = Pick<ClientPolicy, 'updates' | 'updateUrl' | 'updateChannel' | 'pinnedVersion'>;

export interface UpdateServiceDeps {
  fetch: StreamFetch | null;
  /** The root of trust shipped in the app (build/update-root.json): null when this build has none. */
  trustRoot: Uint8Array | null;
  policy: () => UpdatePolicy;
  /** The running app's version, platform and arch (app.getVersion(), process.platform, process.arch). */
  running: string;
  platform: string;
  arch: string;
  /** Where the kept metadata and downloads go (userData/updates). */
  dir: string;
  vault: SecretVault;
  /** The device key's id (staged rollout); null before the PC is enrolled. */
  deviceKeyId: () => Promise<string | null>;
  now: () => number;
  installer: Installer | null;
  log?: Logger;
  limits?: Partial<UpdateLimits>;
}

export interface UpdateLimits {
  metadata: DownloadLimits;
  artifact: DownloadLimits;
  /** The most root versions walked in one check (a feed cannot keep the updater busy for ever). */
  maxRootSteps: number;
}

const DEFAULT_LIMITS: UpdateLimits = {
  metadata: { deadlineMs: 30_000, stallMs: 10_000 },
  artifact: { deadlineMs: 30 * 60_000, stallMs: 30_000 },
  maxRootSteps: 64,
};
const ROOT_MAX_BYTES = 512 * 1024;
const TIMESTAMP_MAX_BYTES = 16 * 1024;
const FLOORS_ACCOUNT = 'update-trusted-versions';

/**
 * Main's updater (docs/updates.md): asks the signed feed, verifies the metadata in TUF's order
 * against the root shipped in the app and the highest versions this PC trusted, picks the
 * artifact for the channel, platform and policy, downloads it under caps and checks its sha512;
 * only then does anything leave this service (the renderer told it is ready, or the installer
 * handed it). Every refusal has its code and is logged without secrets.
 */
export class UpdateService {
  private readonly log: Logger;
  private readonly limits: UpdateLimits;
  private current: UpdateStatus = { state: 'idle' };
  private running: Promise<UpdateStatus> | null = null;
  private listeners = new Set<(s: UpdateStatus) => void>();

  constructor(private readonly deps: UpdateServiceDeps) {
    this.log = deps.log ?? consoleLogger('updates');
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits };
  }

  status(): UpdateStatus {
    return this.current;
  }

  onChange(listener: (s: UpdateStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private timer: NodeJS.Timeout | null = null;

  /** Checks now and then every `everyMs` (main/index.ts: at start, then every 4 hours). */
  start(everyMs = 4 * 3_600_000): void {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check; a second call while one runs joins it. Never throws: the outcome is the status. */
  check(): Promise<UpdateStatus> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private set(status: UpdateStatus): UpdateStatus {
    this.current = status;
    for (const l of this.listeners) l(status);
    return status;
  }

  private async run(): Promise<UpdateStatus> {
    const p = this.deps.policy();
    if (p.updates === 'disabled') return this.set({ state: 'disabled' });
    const missing = !p.updateUrl ? 'updateUrl' : !this.deps.trustRoot ? 'trustRoot' : !this.deps.fetch ? 'fetch' : null;
    if (missing) return this.set({ state: 'unconfigured', missing });
    const checkedAt = this.deps.now();
    try {
      return this.set(await this.verifyAndFetch(p, p.updateUrl!, this.deps.fetch!, this.deps.trustRoot!, checkedAt));
    } catch (err) {
      if (err instanceof UpdateRefusal) {
        this.log.warn('update refused', { code: err.code, ...err.detail });
        return this.set({ state: 'refused', code: err.code, checkedAt });
      }
      logFailure(this.log, 'checking for an update', err, {}, 'error');
      return this.set({ state: 'refused', code: 'internal', checkedAt });
    }
  }

  private async verifyAndFetch(p: UpdatePolicy, feed: string, fetch: StreamFetch, trustRoot: Uint8Array, checkedAt: number): Promise<UpdateStatus> {
    const base = feed.endsWith('/') ? feed : `${feed}/`;
    const at = (name: string) => new URL(name, base).toString();
    const trusted = await this.loadTrusted(trustRoot);
    const lim = this.limits.metadata;

    // 1. root: one version at a time, each vouched for by the one before
    for (let i = 0; i < this.limits.maxRootSteps; i++) {
      const name = `${trusted.root.version + 1}.root.json`;
      const bytes = await fetchMetadata(fetch, at(name), ROOT_MAX_BYTES, lim);
      if (!bytes) break;
      trusted.updateRoot(bytes);
      await this.keep(path.join('roots', name), bytes);
    }
    trusted.finishRoot();
    // 2. timestamp: fresh, signed, never older than the kept one
    const tsBytes = await fetchMetadata(fetch, at('timestamp.json'), TIMESTAMP_MAX_BYTES, lim);
    if (!tsBytes) throw new UpdateRefusal('fetch_failed', { file: 'timestamp.json', status: 404 });
    trusted.updateTimestamp(tsBytes);
    // 3. release: exactly the file the timestamp names (consistent snapshot: <version>.release.json)
    const want = trusted.timestamp!.release;
    if (trusted.release?.version !== want.version) {
      const relBytes = await fetchMetadata(fetch, at(`${want.version}.release.json`), want.length, lim);
      if (!relBytes) throw new UpdateRefusal('fetch_failed', { file: `${want.version}.release.json`, status: 404 });
      trusted.updateRelease(relBytes);
    } else if (Date.parse(trusted.release.expires) <= this.deps.now()) {
      throw new UpdateRefusal('release_expired', { version: trusted.release.version, expires: trusted.release.expires });
    }
    await this.saveTrusted(trusted);

    // 4. the artifact for this PC
    const choice = chooseTarget(trusted.release!, {
      channel: p.updateChannel,
      platform: this.deps.platform,
      arch: this.deps.arch,
      running: this.deps.running,
      pinned: p.pinnedVersion ?? null,
      // no key readable (the keychain locked): outside a partial rollout this time, logged
      deviceKeyId: await this.deps.deviceKeyId().catch(fallback(this.log, 'reading the device key for the rollout', null)),
    });
    if (choice.kind === 'up_to_date') return { state: 'up_to_date', checkedAt };
    if (choice.kind === 'not_in_rollout') return { state: 'not_in_rollout', version: choice.version, checkedAt };
    const t = choice.target;
    const downloads = path.join(this.deps.dir, 'downloads');
    await rm(downloads, { recursive: true, force: true });
    await mkdir(downloads, { recursive: true });
    const dest = path.join(downloads, t.file);
    await downloadArtifact(fetch, at(t.file), t, dest, this.limits.artifact);
    const artifact: VerifiedArtifact = { path: dest, version: t.version, size: t.size, sha512: t.sha512, required: choice.required };
    this.log.warn('update verified', { version: t.version, channel: t.channel, required: choice.required, pinned: p.pinnedVersion ?? null });
    if (p.updates === 'auto' && this.deps.installer) {
      await this.deps.installer.install(artifact);
      return { state: 'handed_over', version: t.version, checkedAt };
    }
    return { state: 'ready', version: t.version, required: choice.required, checkedAt };
  }

  // --- the kept state -------------------------------------------------------------------------
  // The metadata this PC trusted is kept as the signed files themselves (userData/updates/state)
  // and re-verified on load from the embedded root: an edited file fails its signatures and is
  // dropped. Deleting the files is the remaining way back, so the highest versions are also kept
  // in the OS keychain (the vault) as floors; the floors are the higher of the two.

  private stateDir(): string {
    return path.join(this.deps.dir, 'state');
  }

  private async keep(name: string, bytes: Uint8Array): Promise<void> {
    const file = path.join(this.stateDir(), name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes, { mode: 0o600 });
  }

  private async readKept(name: string): Promise<Uint8Array | null> {
    try {
      return await readFile(path.join(this.stateDir(), name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async vaultFloors(): Promise<VersionFloors> {
    const none = { root: 0, timestamp: 0, release: 0 };
    try {
      const raw = await this.deps.vault.get(FLOORS_ACCOUNT);
      if (!raw) return none;
      const v = JSON.parse(raw) as Partial<VersionFloors>;
      const n = (x: unknown) => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : 0);
      return { root: n(v.root), timestamp: n(v.timestamp), release: n(v.release) };
    } catch (err) {
      // no keychain: the kept files alone hold the floors (they are signed, so not editable; only deletable)
      logFailure(this.log, 'reading the update floors from the keychain', err);
      return none;
    }
  }

  private async loadTrusted(trustRoot: Uint8Array): Promise<TrustedMetadata> {
    const floors = await this.vaultFloors();
    const trusted = new TrustedMetadata(trustRoot, this.deps.now, floors);
    try {
      const names = (await readdir(path.join(this.stateDir(), 'roots')).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw err;
      }))
        .map((n) => /^(\d+)\.root\.json$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
      for (const v of names) {
        if (v <= trusted.root.version) continue;
        const bytes = await this.readKept(path.join('roots', `${v}.root.json`));
        if (bytes) trusted.updateRoot(bytes);
      }
      // kept timestamp and release: signatures and order checked, not their expiry (they are floors, not offers)
      const ts = await this.readKept('timestamp.json');
      if (ts) trusted.updateTimestamp(ts, { checkExpiry: false });
      const rel = await this.readKept('release.json');
      if (rel && ts) trusted.updateRelease(rel, { checkExpiry: false });
      return trusted;
    } catch (err) {
      // an edited or broken kept file: dropped (logged as an error: someone or something changed it);
      // the embedded root and the keychain floors still hold, the feed walks the roots again
      this.log.error('kept update metadata failed verification and was dropped', err instanceof UpdateRefusal ? { code: err.code, ...err.detail } : errorFields(err));
      await rm(this.stateDir(), { recursive: true, force: true });
      return new TrustedMetadata(trustRoot, this.deps.now, floors);
    }
  }

  private async saveTrusted(trusted: TrustedMetadata): Promise<void> {
    const { timestamp, release } = trusted.bytes;
    if (timestamp) await this.keep('timestamp.json', timestamp);
    if (release) await this.keep('release.json', release);
    try {
      await this.deps.vault.set(FLOORS_ACCOUNT, JSON.stringify(trusted.versions()));
    } catch (err) {
      // no keychain: the signed files on disk remain the floors (see above)
      logFailure(this.log, 'keeping the update floors in the keychain', err);
    }
  }
}
