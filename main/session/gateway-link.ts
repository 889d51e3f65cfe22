import type { AlertView } from '../../shared/gateway/admin-alerts';
import WebSocket from 'ws';
import { z } from 'zod';
import { WsServerMessage, type WsClientMessage } from '../../shared/gateway/api';
import { backoffDelay, RECONNECT_BACKOFF, type Backoff } from '../../shared/backoff';
import type { LinkStatus } from '../../shared/ipc/contract';
import type { OperatorServerMessage } from '../telephony/agent-state';
import { logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';
import { consoleLogger } from '../log';
import { realTimers, type Timeouts, type Intervals } from '../timers';

export type LinkTimers = Timeouts & Intervals;

export type LinkEnd = 'revoked' | 'expired';

export type SupervisionPush = Extract<WsServerMessage, { type: 'supervisionOffer' | 'supervisionMode' | 'supervisionStop' | 'supervisionEnded' | 'board' | 'boardUpdate' | 'boardStats' }>;
const OPERATOR_TYPES = new Set<string>(['operatorState', 'operatorRefused', 'operatorNotice', 'operatorHangUp', 'callCard']);
const SUPERVISION_TYPES = new Set<string>(['supervisionOffer', 'supervisionMode', 'supervisionStop', 'supervisionEnded', 'board', 'boardUpdate', 'boardStats']);

/**
 * Main's authenticated WebSocket to the gateway while signed in. The gateway re-checks the
 * session on every message, so a ping every `pingMs` notices an admin's revoke or an expiry
 * and ends the session in main and renderer; a ping left unanswered until the next one ends
 * the socket (a half-open connection is found, not waited on). Agent states and supervision
 * signalling travel on this same channel (the only channel the client trusts for those).
 *
 * Survives a gateway restart: a lost socket is reconnected after an exponential backoff with
 * full jitter (shared/backoff.ts, capped), re-authenticated, and `onReady` re-sends what the
 * gateway should know (registration, board subscription, microphone and lock facts); the
 * gateway pushes the operator's view right after "ready", so the state shown is re-read from
 * the gateway that owns it, never kept from before. `status()` / `onStatus` say what is
 * happening (connecting, connected, reconnecting with the attempt and the wait, back, offline)
 * for the status bar.
 */
export class GatewayLink {
  private socket: WebSocket | null = null;
  private pinger: unknown = null;
  private retry: unknown = null;
  /** From a socket's creation until the gateway's "ready": a socket that gets no further is ended. */
  private readyTimer: unknown = null;
  private attempt = 0;
  private wanted = false;
  private awaitingPong = false;
  /** Bumped by stop(): a connect still waiting for its token does not open a socket afterwards. */
  private generation = 0;
  /** Since start(): a socket was lost or a connect failed (the next "ready" is "back"). */
  private interrupted = false;
  private status_: LinkStatus = { phase: 'offline', attempt: 0, retryInMs: null };
  private statusListeners = new Set<(s: LinkStatus) => void>();
  private alertListeners = new Set<(a: AlertView) => void>();
  private readonly log: Logger;
  private state_: 'closed' | 'connecting' | 'ready' = 'closed';
  get readyState(): 'closed' | 'connecting' | 'ready' {
    return this.state_;
  }
  private setState(s: 'closed' | 'connecting' | 'ready'): void {
    this.state_ = s;
    this.deps.onState?.(s, this.wanted);
  }

  /** What the status bar shows about the link. */
  status(): LinkStatus {
    return { ...this.status_ };
  }

  /** Security alerts the gateway pushes to this session (only while it holds alerts:read: server/alerts/push.ts). */
  onAlert(listener: (a: AlertView) => void): () => void {
    this.alertListeners.add(listener);
    return () => this.alertListeners.delete(listener);
  }

  onStatus(listener: (s: LinkStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(next: LinkStatus): void {
    const s = this.status_;
    if (s.phase === next.phase && s.attempt === next.attempt && s.retryInMs === next.retryInMs) return;
    this.status_ = next;
    for (const l of this.statusListeners) l(this.status());
  }

  constructor(
    private readonly deps: {
      url: () => string;
      accessToken: () => Promise<string | null>;
      onSessionEnded: (why: LinkEnd) => void;
      /** Called each time the link is (re-)authenticated: senders re-send their current state. */
      onReady?: () => void;
      /** The operator model's messages (views, refusals, notices, hang-ups). */
      onOperator?: (message: OperatorServerMessage) => void;
      /** The link's state after every change; `wanted`: signed in (false after stop()). */
      onState?: (state: 'connecting' | 'ready' | 'closed', wanted: boolean) => void;
      /** Supervision signalling and board pushes (validated against the gateway contract first). */
      onSupervision?: (message: SupervisionPush) => void;
      timers?: LinkTimers;
      pingMs?: number;
      /** How long a new socket may take to be opened and authenticated ("ready") before it is ended (10 s). */
      readyTimeoutMs?: number;
      /** Math.random in the app; tests pin it. */
      random?: () => number;
      backoff?: Backoff;
      log?: Logger;
    },
  ) {
    this.log = deps.log ?? consoleLogger('gateway-link');
  }

  private get timers() {
    return this.deps.timers ?? realTimers;
  }

  start(): void {
    if (!this.wanted) {
      this.interrupted = false;
      this.attempt = 0;
    }
    this.wanted = true;
    if (!this.socket && this.retry === null && this.state_ !== 'connecting') void this.connect();
  }

  stop(): void {
    this.wanted = false;
    this.generation++;
    this.clearTimers();
    this.socket?.close(1000, 'signed out');
    this.socket = null;
    this.attempt = 0;
    this.interrupted = false;
    this.setState('closed');
    this.setStatus({ phase: 'offline', attempt: 0, retryInMs: null });
  }

  /** Sends a message if the link is authenticated; false when it is not (the caller re-sends on onReady). */
  send(message: WsClientMessage): boolean {
    if (this.readyState !== 'ready' || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * After a resume from sleep: the socket may look open and be dead (the gateway dropped it
   * while the PC slept; a ping would only time out after two periods). End it and connect again
   * now, saying `reconnecting` then `back`. Resolves true once ready, false after `timeoutMs`
   * (the link keeps retrying with its backoff) or when no link is wanted (signed out).
   */
  reconnectNow(timeoutMs = 10_000): Promise<boolean> {
    if (!this.wanted) return Promise.resolve(false);
    this.generation++;
    this.clearTimers();
    const old = this.socket;
    this.socket = null;
    old?.terminate();
    this.interrupted = true;
    this.attempt = 0;
    this.setState('closed');
    this.setStatus({ phase: 'reconnecting', attempt: 1, retryInMs: 0 });
    const ready = new Promise<boolean>((resolve) => {
      const timer = this.timers.setTimeout(() => {
        off();
        resolve(false);
      }, timeoutMs);
      const off = this.onStatus((st) => {
        if (st.phase !== 'back' && st.phase !== 'connected') return;
        this.timers.clearTimeout(timer);
        off();
        resolve(true);
      });
    });
    void this.connect();
    return ready;
  }

  /** One ping now (the gateway answers, or ends the session). */
  pingNow(): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'ping' }));
  }

  private async connect(): Promise<void> {
    this.retry = null;
    const generation = this.generation;
    this.setState('connecting');
    if (!this.interrupted) this.setStatus({ phase: 'connecting', attempt: 0, retryInMs: null });
    const token = await this.deps.accessToken().catch((err: unknown) => {
      // the session's refresh failed (the gateway unreachable, the keychain locked): no token
      // now; the retry below says so in the link's status
      logFailure(this.log, 'getting an access token for the gateway link', err);
      return null;
    });
    if (!this.wanted || generation !== this.generation) return;
    if (!token) {
      // No access token now (the gateway unreachable for a refresh): try again later, saying so.
      this.setState('closed');
      this.scheduleReconnect('no access token');
      return;
    }
    const url = new URL('/ws', this.deps.url());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { handshakeTimeout: 10_000, maxPayload: 64 * 1024 });
    this.socket = socket;
    // A path that dies after the upgrade (or a gateway that never answers the auth) would leave
    // the link "connecting" for as long as TCP keeps the socket (minutes): end it, and the close
    // below reconnects (the status bar says so).
    const readyTimeoutMs = this.deps.readyTimeoutMs ?? 10_000;
    if (this.readyTimer !== null) this.timers.clearTimeout(this.readyTimer);
    this.readyTimer = this.timers.setTimeout(() => {
      this.readyTimer = null;
      if (this.socket !== socket || this.state_ === 'ready') return;
      this.log.warn('the gateway did not let the link in within its time: ending the socket', { waitedMs: readyTimeoutMs });
      socket.terminate();
    }, readyTimeoutMs);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', accessToken: token })));
    socket.on('message', (raw) => {
      if (this.socket !== socket) return;
      this.awaitingPong = false; // any message shows the gateway is there
      let json: unknown;
      try {
        json = JSON.parse(String(raw));
      } catch (err) {
        // the gateway sends JSON only: a frame that is not is dropped, and said (its size, not its text)
        logFailure(this.log, 'parsing a gateway message', err, { bytes: String(raw).length });
        return;
      }
      const msg = WsServerMessage.safeParse(json);
      if (!msg.success) {
        const type = typeof json === 'object' && json !== null && typeof (json as { type?: unknown }).type === 'string' ? (json as { type: string }).type.slice(0, 40) : null;
        this.log.warn('a gateway message does not match the contract: dropped', { type });
        return;
      }
      if (msg.data.type === 'ready') {
        if (this.readyTimer !== null) this.timers.clearTimeout(this.readyTimer);
        this.readyTimer = null;
        this.setState('ready');
        this.attempt = 0;
        if (this.pinger !== null) this.timers.clearInterval(this.pinger);
        this.awaitingPong = false;
        this.pinger = this.timers.setInterval(() => this.heartbeat(socket), this.deps.pingMs ?? 20_000);
        this.setStatus({ phase: this.interrupted ? 'back' : 'connected', attempt: 0, retryInMs: null });
        if (this.interrupted) this.log.warn('the gateway link is back', {});
        this.deps.onReady?.();
      } else if (OPERATOR_TYPES.has(msg.data.type)) {
        this.deps.onOperator?.(msg.data as OperatorServerMessage);
      } else if (SUPERVISION_TYPES.has(msg.data.type)) {
        this.deps.onSupervision?.(msg.data as SupervisionPush);
      } else if (msg.data.type === 'alert') {
        for (const l of this.alertListeners) l(msg.data.alert);
      } else if (msg.data.type === 'error') {
        const code = msg.data.code;
        if (code === 'session_revoked' || code === 'token_reused' || code === 'device_revoked') this.end('revoked');
        else if (code === 'session_expired') this.end('expired');
        else this.log.warn('the gateway refused a message', { code }); // its answer to the sender is the refusal; said here
      }
    });
    // 'close' follows every 'error': the reconnect is decided there; the cause is logged here
    // (not for a socket already let go of: closed at sign-out while it was still connecting)
    socket.on('error', (err) => {
      if (this.socket === socket) logFailure(this.log, 'the gateway link socket', err);
    });
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState('closed');
      this.clearTimers();
      if (this.wanted) this.scheduleReconnect('socket closed', { closeCode: code });
    });
  }

  /** Network loss, gateway restart, no token: reconnect after a jittered, capped backoff, saying so. */
  private scheduleReconnect(why: string, fields: Record<string, unknown> = {}): void {
    this.interrupted = true;
    const attempt = this.attempt++;
    const delay = backoffDelay(attempt, this.deps.random ?? Math.random, this.deps.backoff ?? RECONNECT_BACKOFF);
    this.log.warn('the gateway link is down: reconnecting', { why, attempt: attempt + 1, retryInMs: delay, ...fields });
    this.setStatus({ phase: 'reconnecting', attempt: attempt + 1, retryInMs: delay });
    if (this.retry !== null) this.timers.clearTimeout(this.retry);
    this.retry = this.timers.setTimeout(() => void this.connect(), delay);
  }

  /** A ping each period; one still unanswered at the next period means a dead socket: end it (the close reconnects). */
  private heartbeat(socket: WebSocket): void {
    if (this.socket !== socket) return;
    if (this.awaitingPong) {
      this.log.warn('the gateway did not answer a ping: ending the socket', {});
      socket.terminate();
      return;
    }
    this.awaitingPong = true;
    this.pingNow();
  }

  private end(why: LinkEnd): void {
    this.stop();
    this.deps.onSessionEnded(why);
  }

  private clearTimers(): void {
    if (this.pinger !== null) this.timers.clearInterval(this.pinger);
    if (this.retry !== null) this.timers.clearTimeout(this.retry);
    if (this.readyTimer !== null) this.timers.clearTimeout(this.readyTimer);
    this.pinger = null;
    this.retry = null;
    this.readyTimer = null;
  }
}
