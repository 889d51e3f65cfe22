import type { WsClientMessage } from '../../shared/gateway/api';
import type { RegistrationState } from '../../shared/gateway/supervision';
import type { BoardState, EventName, EventPayload } from '../../shared/ipc/contract';
import type { SupervisionPush } from '../session/gateway-link';

export interface SupervisionLinkLike {
  send(message: WsClientMessage): boolean;
}
type Emit = <E extends 'supervision:signal' | 'supervision:ended' | 'board:changed'>(event: E, payload: EventPayload<E>) => void;

/**
 * Main's side of supervision. Operator: whisper/barge set-up arrives only from the gateway
 * link (main's authenticated WebSocket to the gateway) and is forwarded to the renderer; the
 * renderer's answer goes back the same way; the SIP registration is reported for the board.
 * Lead: the board (snapshot + updates) is kept here and pushed to the renderer.
 */
export class SupervisionRelay {
  private listeners = new Set<(event: EventName, payload: unknown) => void>();
  private board: BoardState = { operators: [], updatedAt: null };
  private watching = false;
  private registration: RegistrationState | null = null;

  constructor(
    private readonly link: SupervisionLinkLike,
    private readonly now: () => number,
  ) {}

  onEvent(listener: (event: EventName, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit: Emit = (event, payload) => {
    for (const l of this.listeners) l(event, payload);
  };

  /** A message from the gateway link (already validated against the gateway's WS contract). */
  fromGateway(m: SupervisionPush): void {
    switch (m.type) {
      case 'supervisionOffer':
        return this.emit('supervision:signal', { kind: 'offer', legId: m.legId, sdp: m.sdp, mode: m.mode });
      case 'supervisionMode':
        return this.emit('supervision:signal', { kind: 'mode', legId: m.legId, mode: m.mode });
      case 'supervisionStop':
        return this.emit('supervision:signal', { kind: 'stop', legId: m.legId });
      case 'supervisionEnded':
        return this.emit('supervision:ended', { supervisionId: m.supervisionId, reason: m.reason });
      case 'board':
        this.board = { ...this.board, operators: m.operators, updatedAt: this.now() };
        return this.emit('board:changed', this.board);
      case 'boardStats':
        this.board = { ...this.board, stats: m.stats };
        return this.emit('board:changed', this.board);
      case 'boardUpdate': {
        const rest = this.board.operators.filter((o) => o.userId !== m.operator.userId);
        this.board = { ...this.board, operators: [...rest, m.operator].sort((a, b) => a.username.localeCompare(b.username)), updatedAt: this.now() };
        return this.emit('board:changed', this.board);
      }
    }
  }

  answer(legId: string, sdp: string): boolean {
    return this.link.send({ type: 'supervisionAnswer', legId, sdp });
  }

  reportRegistration(state: RegistrationState): boolean {
    this.registration = state;
    return this.link.send({ type: 'registration', state });
  }

  watchBoard(): BoardState {
    this.watching = true;
    this.link.send({ type: 'boardSubscribe' });
    return this.board;
  }

  /** The link is (again) authenticated: re-send what the gateway should know. */
  resend(): void {
    if (this.registration) this.link.send({ type: 'registration', state: this.registration });
    if (this.watching) this.link.send({ type: 'boardSubscribe' });
  }

  reset(): void {
    this.watching = false;
    this.registration = null;
    this.board = { operators: [], updatedAt: null };
  }
}
