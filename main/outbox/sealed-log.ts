// The outbox's file: an append-only log of records, each sealed on its own with AES-256-GCM
// under the signed-in user's key (held in the OS keychain, never in a file). One line per
// record: base64url(iv 12 bytes | ciphertext | tag 16 bytes) and "\n". The file's name is a
// hash of the Koe user id (no customer data, not even the user's name), so each user on the
// PC has their own file and their own key; neither can be read with the other's key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { SecretVault } from '../secrets/vault';

/** The keychain account holding a user's outbox key (base64url, 32 random bytes). */
export const outboxKeyAccount = (userId: string) => `outbox-key:${userId}`;

/** The outbox file of a user (the name says nothing but that it is Koe's). */
export function outboxFileName(userId: string): string {
  return `${createHash('sha256').update(`koe-outbox:${userId}`).digest('hex').slice(0, 32)}.outbox`;
}

/** Gets the user's key from the keychain, making one the first time (never written anywhere else). */
export async function outboxKey(vault: SecretVault, userId: string): Promise<{ key: Buffer; created: boolean }> {
  const stored = await vault.get(outboxKeyAccount(userId));
  if (stored) {
    const key = Buffer.from(stored, 'base64url');
    if (key.length === 32) return { key, created: false };
  }
  const key = randomBytes(32);
  await vault.set(outboxKeyAccount(userId), key.toString('base64url'));
  return { key, created: true };
}

export function seal(key: Buffer, aad: string, record: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

/** The record, or null when the line is not one sealed with this key for this file (truncated, altered, another key). */
export function unseal(key: Buffer, aad: string, line: string): unknown {
  if (!/^[A-Za-z0-9_-]{40,}$/.test(line)) return null;
  const raw = Buffer.from(line, 'base64url');
  if (raw.length < 12 + 16 + 2) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const pt = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    return JSON.parse(pt.toString('utf8'));
  } catch {
    // an authentication failure is the answer here ("not readable"): the caller counts and reports it
    return null;
  }
}

export interface LoadReport<R> {
  records: R[];
  /** Lines that did not open (altered, or sealed with another key). */
  unreadable: number;
  /** A last record cut short (the app stopped mid-append). */
  truncatedTail: boolean;
}

/**
 * One user's sealed log. `load` reads what is there (a cut-short last record and lines that
 * do not open are skipped and counted), `append` writes and syncs a record before it resolves,
 * `rewrite` replaces the file atomically (a temp file, synced, renamed over it).
 */
export class SealedLog<R> {
  private handle: FileHandle | null = null;
  private readonly file: string;
  private readonly aad: string;

  constructor(
    readonly dir: string,
    userId: string,
    private readonly key: Buffer,
  ) {
    const name = outboxFileName(userId);
    this.file = path.join(dir, name);
    this.aad = name;
  }

  get path(): string {
    return this.file;
  }

  async load(isRecord: (r: unknown) => r is R): Promise<LoadReport<R>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return { records: [], unreadable: 0, truncatedTail: false };
      throw err;
    }
    const lines = text.split('\n');
    const tail = lines.pop() ?? '';
    const records: R[] = [];
    let unreadable = 0;
    for (const line of lines) {
      if (!line) continue;
      const r = unseal(this.key, this.aad, line);
      if (r !== null && isRecord(r)) records.push(r);
      else unreadable++;
    }
    return { records, unreadable, truncatedTail: tail.length > 0 };
  }

  /**
   * Appends records; `sync` (the default) waits until they are on the disk. A record whose
   * loss costs only a resend ("done": the gateway de-duplicates) may skip the sync.
   */
  async append(records: readonly R[], opts: { sync?: boolean } = {}): Promise<void> {
    if (records.length === 0) return;
    if (!this.handle) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.handle = await open(this.file, 'a', 0o600);
    }
    await this.handle.write(records.map((r) => `${seal(this.key, this.aad, r)}\n`).join(''));
    if (opts.sync !== false) await this.handle.datasync();
  }

  /** Replaces the file with these records (none: the file is removed). */
  async rewrite(records: readonly R[]): Promise<void> {
    await this.close();
    if (records.length === 0) {
      await rm(this.file, { force: true });
      return;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const h = await open(tmp, 'w', 0o600);
    try {
      await h.write(records.map((r) => `${seal(this.key, this.aad, r)}\n`).join(''));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, this.file);
  }

  /** Moves an unreadable file aside (kept, never decrypted) so a new one can start. */
  async setAside(suffix: string): Promise<string> {
    await this.close();
    const aside = `${this.file}.unreadable-${suffix}`;
    await rename(this.file, aside);
    return aside;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }
}
