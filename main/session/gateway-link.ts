import WebSocket from 'ws';
import { WsServerMessage, type WsClientMessage } from '../../shared/gateway/api';
import type { OperatorServerMessage } from '../telephony/agent-state';
import { consoleLogger } from '../log';

const linkLog = consoleLogger('gateway-link');

export interface LinkTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: LinkTimers = {
  setInterval: (f, ms) => setInterval(f, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (f, ms) => setTimeout(f, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type LinkEnd = 'revoked' | 'expired';

export type SupervisionPush = Extract<WsServerMessage, { type: 'supervisionOffer' | 'supervisionMode' | 'supervisionStop' | 'supervisionEnded' | 'board' | 'boardUpdate' }>;
const OPERATOR_TYPES = new Set<string>(['operatorState', 'operatorRefused', 'operatorNotice', 'operatorHangUp']);
const SUPERVISION_TYPES = new Set<string>(['supervisionOffer', 'supervisionMode', 'supervisionStop', 'supervisionEnded', 'board', 'boardUpdate']);

/**
 * Main's authenticated WebSocket to the gateway while signed in. The gateway re-checks the
 * session on every message, so a ping every `pingMs` notices an admin's revoke or an expiry
 * and ends the session in main and renderer. Later issues carry agent states and supervision
 * signalling on this same channel (the only channel the client trusts for those).
 */
export class GatewayLink {
  private socket: WebSocket | null = null;
  private pinger: unknown = null;
  private retry: unknown = null;
  private attempt = 0;
  private wanted = false;
  private state_: 'closed' | 'connecting' | 'ready' = 'closed';
  get readyState(): 'closed' | 'connecting' | 'ready' {
    return this.state_;
  }
  private setState(s: 'closed' | 'connecting' | 'ready'): void {
    this.state_ = s;
    this.deps.onState?.(s, this.wanted);
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
    },
  ) {}

  private get timers() {
    return this.deps.timers ?? realTimers;
  }

  start(): void {
    this.wanted = true;
    if (!this.socket) void this.connect();
  }

  stop(): void {
    this.wanted = false;
    this.clearTimers();
    this.socket?.close(1000, 'signed out');
    this.socket = null;
    this.setState('closed');
  }

  /** Sends a message if the link is authenticated; false when it is not (the caller re-sends on onReady). */
  send(message: WsClientMessage): boolean {
    if (this.readyState !== 'ready' || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** One ping now (the gateway answers, or ends the session). */
  pingNow(): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: 'ping' }));
  }

  private async connect(): Promise<void> {
    this.setState('connecting');
    const token = await this.deps.accessToken().catch((err: unknown) => {
      // the session's refresh failed (the gateway unreachable, the keychain locked): no token
      // now; the retry below says so in the link's state
      linkLog.warn('no access token for the gateway link', { error: err instanceof Error ? err.name : typeof err });
      return null;
    });
    if (!this.wanted) return;
    if (!token) {
      // No access token now (the gateway unreachable for a refresh): try again later, saying so.
      this.setState('closed');
      this.retry = this.timers.setTimeout(() => void this.connect(), Math.min(30_000, 1_000 * 2 ** this.attempt++));
      return;
    }
    const url = new URL('/ws', this.deps.url());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { handshakeTimeout: 10_000, maxPayload: 64 * 1024 });
    this.socket = socket;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', accessToken: token })));
    socket.on('message', (raw) => {
      let msg;
      try {
        const json: unknown = JSON.parse(String(raw));
        msg = WsServerMessage.safeParse(json);
      } catch {
        return;
      }
      if (!msg.success) return;
      if (msg.data.type === 'ready') {
        this.setState('ready');
        this.attempt = 0;
        this.pinger = this.timers.setInterval(() => this.pingNow(), this.deps.pingMs ?? 20_000);
        this.deps.onReady?.();
      } else if (OPERATOR_TYPES.has(msg.data.type)) {
        this.deps.onOperator?.(msg.data as OperatorServerMessage);
      } else if (SUPERVISION_TYPES.has(msg.data.type)) {
        this.deps.onSupervision?.(msg.data as SupervisionPush);
      } else if (msg.data.type === 'error') {
        const code = msg.data.code;
        if (code === 'session_revoked' || code === 'token_reused' || code === 'device_revoked') this.end('revoked');
        else if (code === 'session_expired') this.end('expired');
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setState('closed');
      this.clearTimers();
      if (this.wanted) {
        // Network loss or gateway restart: reconnect with backoff (1 s .. 30 s).
        const delay = Math.min(30_000, 1_000 * 2 ** this.attempt++);
        this.retry = this.timers.setTimeout(() => void this.connect(), delay);
      }
    });
  }

  private end(why: LinkEnd): void {
    this.stop();
    this.deps.onSessionEnded(why);
  }

  private clearTimers(): void {
    if (this.pinger !== null) this.timers.clearInterval(this.pinger);
    if (this.retry !== null) this.timers.clearTimeout(this.retry);
    this.pinger = null;
    this.retry = null;
  }
}
