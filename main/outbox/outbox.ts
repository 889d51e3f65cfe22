// The durable outbox: everything the operator wrote that the gateway has not confirmed (notes
// as typed, the call record's updates: times, disposition, wrap-up), kept by main for the
// signed-in user in a sealed file (sealed-log.ts: AES-256-GCM, the key in the OS keychain) and
// sent in order, one at a time, until the gateway confirms or refuses each.
//
// - An item is appended (and synced) to the file before `enqueue` answers "queued".
// - A renderer crash or reload loses nothing (main holds it); an app restart reads the file at
//   the user's next sign-in; the idle lock changes nothing (main keeps sending).
// - The session's end closes the outbox: its plaintext leaves memory, the sealed file stays for
//   that user (the key is theirs, in the keychain), sent at their next sign-in. Another user's
//   outbox is another file under another key.
// - Idempotent at the gateway: a note carries its clientNoteId; a call patch sets values (and
//   the gateway writes and audits nothing when nothing changes), so a resend after a crash
//   between "sent" and "done" is harmless.
import { GatewayCallError, type GatewayClient } from '../../shared/gateway-client';
import { OutboxCallPatch, type OutboxEnqueue, type OutboxEntry, type OutboxSavedNote, type OutboxSettled, type OutboxState } from '../../shared/ipc/contract';
import { redactCardNumbers } from '../../shared/rules/card-redaction';
import { z } from 'zod';
import { logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';
import type { SecretVault } from '../secrets/vault';
import { realTimers, type Timeouts } from '../timers';
import { outboxKey, SealedLog } from './sealed-log';

const Item = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('note'), id: z.string(), sipCallId: z.string(), customerId: z.string().nullable(), body: z.string(), queuedAt: z.number() }),
  z.strictObject({ kind: z.literal('callPatch'), id: z.string(), sipCallId: z.string(), patch: OutboxCallPatch, queuedAt: z.number() }),
]);
export type OutboxItem = z.infer<typeof Item>;
const OutboxRecord = z.discriminatedUnion('op', [z.strictObject({ op: z.literal('add'), item: Item }), z.strictObject({ op: z.literal('done'), id: z.string() })]);
type OutboxRecord = z.infer<typeof OutboxRecord>;
const isRecord = (r: unknown): r is OutboxRecord => OutboxRecord.safeParse(r).success;

/** The longest wait between two tries of the item at the head of the queue. */
export const OUTBOX_MAX_DELAY_MS = 30_000;
/** Done records beyond this: the file is rewritten with the pending items only. */
const COMPACT_AFTER = 500;

/** No access token now (the session is refreshing, or ended): try again later. */
export class OutboxNotReady extends Error {
  constructor() {
    super('no access token');
    this.name = 'OutboxNotReady';
  }
}

/** How the gateway's answer settles an item: it took it, it refused it for good, or try again. */
export function verdictOf(err: unknown): 'saved' | 'refused' | 'retry' {
  if (!(err instanceof GatewayCallError) || err.status === null) return 'retry';
  if (err.status < 300) return 'saved'; // taken, with an answer we could not read: resending would not change that
  // 401 (token), 408, 429 and every 5xx can pass; any other 4xx is the gateway's final word
  if (err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 408 && err.status !== 429) return 'refused';
  return 'retry';
}

/**
 * Sends one item with main's session token (the same gateway client main uses everywhere). A
 * note answers what the gateway stored (without its text) for the notes panel's "Edit".
 */
export function gatewaySender(gateway: GatewayClient, accessToken: () => Promise<string | null>) {
  return async (item: OutboxItem): Promise<OutboxSavedNote | void> => {
    const token = await accessToken();
    if (!token) throw new OutboxNotReady();
    if (item.kind === 'note') {
      const note = await gateway.call('createNote', {
        accessToken: token,
        // redacted once more on the way out (defence in depth, whatever wrote the file)
        body: { clientNoteId: item.id, callId: item.sipCallId, ...(item.customerId ? { customerId: item.customerId } : {}), body: redactCardNumbers(item.body), open: true },
      });
      return { id: note.id, authorId: note.authorId, version: note.version, open: note.open, createdAt: note.createdAt };
    } else {
      await gateway.call('patchCall', { accessToken: token, params: { callId: item.sipCallId }, body: item.patch });
    }
  };
}

export interface OutboxDeps {
  /** The folder of the outbox files (under the user-data dir). */
  dir: string;
  vault: SecretVault;
  /** Sends one item; a note may answer what the gateway stored (told with its `outbox:settled`). */
  send(item: OutboxItem): Promise<OutboxSavedNote | void>;
  now(): number;
  timers?: Timeouts;
  log?: Logger;
  maxDelayMs?: number;
}

export class OutboxService {
  private items: OutboxItem[] = [];
  private attempts = new Map<string, number>();
  private file: SealedLog<OutboxRecord> | null = null;
  private userId: string | null = null;
  private unreadable = 0;
  private doneSinceCompact = 0;
  /** Bumped by open/close: a send or a write of the previous user's outbox drops its result. */
  private generation = 0;
  private running = false;
  /** An open in progress: an item handed meanwhile waits for it. */
  private opening: Promise<void> | null = null;
  private timer: unknown = null;
  private failures = 0;
  /** flush() came while a send was on its way: if that send fails, the next try is at once (no backoff). */
  private flushAsked = false;
  /** File operations, one after another (appends, rewrites, close). */
  private io: Promise<unknown> = Promise.resolve();
  private readonly changeListeners = new Set<(s: OutboxState) => void>();
  private readonly settledListeners = new Set<(s: OutboxSettled) => void>();
  private readonly timers: Timeouts;
  private readonly log: Logger;

  constructor(private readonly deps: OutboxDeps) {
    this.timers = deps.timers ?? realTimers;
    this.log = deps.log ?? consoleLogger('outbox');
  }

  onChange(l: (s: OutboxState) => void): () => void {
    this.changeListeners.add(l);
    return () => this.changeListeners.delete(l);
  }

  onSettled(l: (s: OutboxSettled) => void): () => void {
    this.settledListeners.add(l);
    return () => this.settledListeners.delete(l);
  }

  /** Whose outbox is open (null: none). */
  openFor(): string | null {
    return this.userId;
  }

  state(): OutboxState {
    return {
      open: this.userId !== null,
      pending: this.items.map((i) => ({ id: i.id, kind: i.kind, sipCallId: i.sipCallId, queuedAt: i.queuedAt, attempts: this.attempts.get(i.id) ?? 0 })),
      unreadable: this.unreadable,
    };
  }

  list(): OutboxEntry[] {
    return this.items.map((i) => ({
      id: i.id,
      kind: i.kind,
      sipCallId: i.sipCallId,
      body: i.kind === 'note' ? i.body : null,
      disposition: i.kind === 'callPatch' ? (i.patch.disposition ?? null) : null,
      queuedAt: i.queuedAt,
      attempts: this.attempts.get(i.id) ?? 0,
    }));
  }

  /**
   * Opens the user's outbox (their key from the keychain, made the first time; their file read,
   * a cut-short or unreadable record skipped and reported, the rest kept), then sends what waits.
   */
  open(userId: string): Promise<void> {
    if (this.userId === userId) return Promise.resolve();
    const opening = this.doOpen(userId).finally(() => {
      if (this.opening === opening) this.opening = null;
    });
    this.opening = opening;
    return opening;
  }

  private async doOpen(userId: string): Promise<void> {
    if (this.userId !== null) await this.close();
    const generation = ++this.generation;
    const { key, created } = await outboxKey(this.deps.vault, userId);
    if (generation !== this.generation) return;
    const file = new SealedLog<OutboxRecord>(this.deps.dir, userId, key);
    const loaded = await file.load(isRecord);
    if (generation !== this.generation) return;
    const pending = new Map<string, OutboxItem>();
    for (const r of loaded.records) {
      if (r.op === 'add') {
        if (!pending.has(r.item.id)) pending.set(r.item.id, r.item);
      } else pending.delete(r.id);
    }
    const lost = loaded.unreadable + (loaded.truncatedTail ? 1 : 0);
    if (lost > 0) {
      this.log.error('outbox: records that could not be read were skipped', { unreadable: loaded.unreadable, truncatedTail: loaded.truncatedTail, kept: pending.size });
    }
    if (loaded.records.length === 0 && loaded.unreadable > 0) {
      // nothing opens with this key (a new key, or another's file): kept aside, never overwritten
      const aside = await file.setAside(String(this.deps.now()));
      this.log.error('outbox: the file does not open with this user\'s key: set aside', { newKey: created, file: aside.split(/[\\/]/).pop() });
    } else if (lost > 0 || loaded.records.length > pending.size) {
      // compaction: the pending items only (drops the cut-short tail, so the next append starts on a clean line)
      await file.rewrite([...pending.values()].map((item) => ({ op: 'add' as const, item })));
    }
    if (generation !== this.generation) return;
    this.file = file;
    this.userId = userId;
    this.items = [...pending.values()];
    this.attempts.clear();
    this.unreadable = lost;
    this.doneSinceCompact = 0;
    this.failures = 0;
    this.emitChange();
    void this.pump();
  }

  /**
   * The session ended: the plaintext leaves memory and the file is closed; the sealed file
   * stays for this user's next sign-in. Returns how many items were kept.
   */
  async close(): Promise<number> {
    const kept = this.items.length;
    const file = this.file;
    const wasOpen = this.userId !== null;
    this.generation++;
    this.items = [];
    this.attempts.clear();
    this.file = null;
    this.userId = null;
    this.unreadable = 0;
    this.clearTimer();
    await this.serial(async () => file?.close());
    if (wasOpen) {
      if (kept > 0) this.log.warn('outbox: session ended with unsent items: kept sealed for this user', { kept });
      this.emitChange();
    }
    return kept;
  }

  /** Keeps an item: written and synced to the sealed file before this resolves. */
  async enqueue(input: OutboxEnqueue): Promise<{ id: string; status: 'queued' }> {
    if (!this.file && this.opening) await this.opening;
    const file = this.file;
    const generation = this.generation;
    if (!file) throw new OutboxClosed();
    if (this.items.some((i) => i.id === input.id)) return { id: input.id, status: 'queued' }; // the renderer retried its call
    const queuedAt = this.deps.now();
    const item: OutboxItem =
      input.kind === 'note'
        ? { kind: 'note', id: input.id, sipCallId: input.sipCallId, customerId: input.customerId, body: redactCardNumbers(input.body), queuedAt }
        : { kind: 'callPatch', id: input.id, sipCallId: input.sipCallId, patch: input.patch, queuedAt };
    await this.serial(async () => {
      // closed while this waited its turn (the session ended): not written into a closed file
      if (generation !== this.generation) return;
      await file.append([{ op: 'add', item }]);
      // in memory within the same step: a rewrite queued after this append sees the item
      if (generation === this.generation) this.items.push(item);
    });
    if (generation !== this.generation) throw new OutboxClosed();
    this.emitChange();
    void this.pump();
    return { id: item.id, status: 'queued' };
  }

  /**
   * Try now (the gateway link is back, the PC woke up) instead of waiting for the backoff. A send
   * already on its way is not waited out with a backoff after it: if it fails (its connection
   * was dead), the next try starts at once.
   */
  flush(): void {
    if (!this.file) return;
    this.clearTimer();
    this.failures = 0;
    if (this.running) this.flushAsked = true;
    void this.pump();
  }

  /** Resolves when nothing is being sent or written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    await this.io;
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.io.then(step, step);
    // the next step waits for this one to settle; its failure is the caller's (`run` is returned)
    this.io = Promise.allSettled([run]).then(() => undefined);
    return run;
  }

  private async pump(): Promise<void> {
    if (this.running || this.timer !== null || !this.file) return;
    this.running = true;
    this.flushAsked = false;
    const generation = this.generation;
    try {
      while (this.items.length > 0 && generation === this.generation) {
        const item = this.items[0]!;
        let verdict: 'saved' | 'refused' | 'retry';
        let stored: OutboxSavedNote | void = undefined;
        try {
          stored = await this.deps.send(item);
          verdict = 'saved';
        } catch (err) {
          verdict = verdictOf(err);
          if (!(err instanceof OutboxNotReady)) logFailure(this.log, `sending an outbox ${item.kind}`, err, { verdict });
        }
        if (generation !== this.generation) return;
        if (verdict === 'retry') {
          this.attempts.set(item.id, (this.attempts.get(item.id) ?? 0) + 1);
          this.emitChange();
          if (this.flushAsked) {
            // flushed while this send was on its way (a resume, the link back): again now
            this.flushAsked = false;
            this.failures = 0;
            continue;
          }
          this.failures++;
          const delay = Math.min(this.deps.maxDelayMs ?? OUTBOX_MAX_DELAY_MS, 1_000 * 2 ** Math.min(this.failures - 1, 10));
          this.timer = this.timers.setTimeout(() => {
            this.timer = null;
            void this.pump();
          }, delay);
          return;
        }
        this.failures = 0;
        this.items.shift();
        this.attempts.delete(item.id);
        await this.settleInFile(item.id);
        if (generation !== this.generation) return;
        if (verdict === 'refused') this.log.warn('outbox: the gateway refused an item for good: dropped', { kind: item.kind });
        const settled: OutboxSettled = { id: item.id, kind: item.kind, outcome: verdict, ...(stored && item.kind === 'note' ? { note: stored } : {}) };
        for (const l of this.settledListeners) l(settled);
        this.emitChange();
      }
    } finally {
      this.running = false;
    }
  }

  /** Marks an item done in the file; an empty queue removes the file, a long log is compacted. */
  private async settleInFile(id: string): Promise<void> {
    const file = this.file;
    if (!file) return;
    try {
      await this.serial(async () => {
        if (this.file !== file) return;
        this.doneSinceCompact++;
        if (this.items.length === 0 || this.doneSinceCompact >= COMPACT_AFTER) {
          this.doneSinceCompact = 0;
          await file.rewrite(this.items.map((item) => ({ op: 'add' as const, item })));
        } else {
          // not synced: a "done" lost to a crash costs a resend, which the gateway de-duplicates
          await file.append([{ op: 'done', id }], { sync: false });
        }
      });
    } catch (err) {
      // the gateway has it; a record not marked done is sent again at the next start (idempotent there)
      logFailure(this.log, 'marking an outbox item done', err);
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private emitChange(): void {
    const s = this.state();
    for (const l of this.changeListeners) l(s);
  }
}

/** Signed out: no outbox is open, nothing can be kept (the renderer holds no user's work then). */
export class OutboxClosed extends Error {
  constructor() {
    super('no outbox is open (signed out)');
    this.name = 'OutboxClosed';
  }
}
