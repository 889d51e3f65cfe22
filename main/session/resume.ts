import type { ResumeStatus } from '../../shared/ipc/contract';
import { logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';

/** One step of the sequence after a resume from sleep, in the order they run. */
export type ResumeStep = 'session' | 'phone' | 'link' | 'outbox';

export interface ResumeDeps {
  /**
   * Ends main's HTTP connections from before the sleep (in flight or kept for reuse): they may
   * be black holes, and every step after would wait on them until its timeout (10 s).
   */
  network(): Promise<void>;
  /** Re-checks the session with the gateway; false: there is none any more (signed out, expired, revoked). */
  checkSession(): Promise<boolean>;
  /**
   * The renderer re-registers its phone (SIP.js lives there): asked through the `resume:status`
   * event (phase `phone`, this run's number) and answered by `resume:phoneDone`.
   */
  phone(run: number): Promise<void>;
  /** The gateway link: its socket may look open after a sleep and be dead; connect again now. */
  link(): Promise<boolean>;
  /** The outbox: send what waited. */
  flush(): Promise<void>;
  now(): number;
  log: Logger;
}

/**
 * After the PC wakes: main's HTTP connections from before the sleep are ended (a request on
 * one that looks open would hang until its timeout), the session is checked (nothing else is
 * worth doing for a session the gateway ended while the PC slept), then the phone re-registers, then the gateway link
 * reconnects, then the outbox is sent, in that order (issue 19 item 3), each step saying so in
 * `status()` (the status bar shows it). A step that fails is logged and the next one still runs
 * (a phone that cannot register must not keep the notes from being sent). A resume while a
 * sequence runs starts one more run after it (a PC that slept twice), never two at once.
 */
export class ResumeSequence {
  private state: ResumeStatus = { phase: 'idle', run: 0, at: null };
  private readonly listeners = new Set<(s: ResumeStatus) => void>();
  private running: Promise<void> | null = null;
  private again = false;
  private phoneWaiters = new Map<number, () => void>();
  /** The run whose phone answered before its wait began (the answer is kept, not lost). */
  private phoneAnswered = 0;

  constructor(private readonly deps: ResumeDeps) {}

  status(): ResumeStatus {
    return { ...this.state };
  }

  onChange(listener: (s: ResumeStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The OS said the PC woke up. Resolves when the run (and any run asked for meanwhile) is over. */
  resumed(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  /** The renderer's answer: its phone has re-registered (or tried) for run `run`. */
  phoneDone(run: number): void {
    this.phoneAnswered = Math.max(this.phoneAnswered, run);
    this.phoneWaiters.get(run)?.();
  }

  /** Waits for `phoneDone(run)` at most `ms` (a window that is closed or has no phone answers nothing). */
  waitForPhone(run: number, ms: number): Promise<void> {
    if (this.phoneAnswered >= run) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.phoneWaiters.delete(run);
        resolve();
      };
      const timer = setTimeout(() => {
        this.deps.log.warn('resume: the phone did not say it re-registered in time; going on', { waitedMs: ms });
        done();
      }, ms);
      this.phoneWaiters.set(run, done);
    });
  }

  private async runOnce(): Promise<void> {
    const run = this.state.run + 1;
    this.set({ phase: 'session', run, at: this.deps.now() });
    try {
      await this.deps.network();
    } catch (err) {
      // the requests after this one then may wait for their own timeouts: said, and on we go
      logFailure(this.deps.log, 'resume: ending the connections from before the sleep', err);
    }
    let signedIn = false;
    try {
      signedIn = await this.deps.checkSession();
    } catch (err) {
      // the gateway not reachable yet (Wi-Fi still joining): the session stands as it was; the steps after retry on their own
      logFailure(this.deps.log, 'resume: checking the session', err);
      signedIn = true;
    }
    if (!signedIn) return this.set({ phase: 'signed-out', run, at: this.deps.now() });
    await this.step('phone', run, () => this.deps.phone(run));
    await this.step('link', run, async () => {
      if (!(await this.deps.link())) this.deps.log.warn('resume: the gateway link is not back yet (it keeps retrying)', {});
    });
    await this.step('outbox', run, () => this.deps.flush());
    this.set({ phase: 'done', run, at: this.deps.now() });
  }

  private async step(phase: ResumeStep, run: number, fn: () => Promise<void>): Promise<void> {
    this.set({ phase, run, at: this.deps.now() });
    try {
      await fn();
    } catch (err) {
      logFailure(this.deps.log, `resume: ${phase}`, err);
    }
  }

  private set(s: ResumeStatus): void {
    this.state = s;
    for (const l of this.listeners) l({ ...s });
  }
}
