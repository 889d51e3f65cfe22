// The agent side of /ws: an operator's authenticated socket makes them an agent (not_ready
// until they say ready), carries their state changes, and receives every change of their
// own state (acks and the gateway's: wrap-up over, call routed). The last socket to close
// makes them offline. No message is pushed on connect (the /ws handshake stays as it was).
import type { WebSocket } from 'ws';
import type { AgentState } from '../../shared/gateway/sip';
import { reportBackgroundFailure } from '../background';
import type { GatewayContext } from '../context';
import type { Principal } from '../principal';

export interface AgentSocket {
  set(state: Exclude<AgentState, 'offline'>, reason: string | null): Promise<void>;
  close(): void;
}

/**
 * `allowed` is the socket's live check (server/routes/ws.ts LivePrincipal): every push of an
 * agent state passes it first, so a revoked session, a disabled user or a role without
 * calls:handle stops receiving states at once, before the socket is closed.
 */
export async function attachAgent(ctx: GatewayContext, principal: Principal, socket: WebSocket, allowed: () => boolean): Promise<AgentSocket> {
  const who = { userId: principal.userId, orgId: principal.orgId, username: principal.username };
  const push = (a: { state: AgentState; reason: string | null; since: Date }) => {
    if (socket.readyState === socket.OPEN && allowed()) socket.send(JSON.stringify({ type: 'agentState', state: a.state, reason: a.reason, since: a.since.toISOString() }));
  };
  // The state starts (or stays) as it is without a message to the client: a client learns it
  // by setting one (the ack) or from the gateway's later changes. /ws says "ready" only after
  // this returns, so every change after "ready" reaches the client.
  await ctx.agents.connect(who);
  const unsubscribe = ctx.agents.subscribe((change) => {
    if (change.userId === who.userId) push(change);
  });
  let closed = false;
  return {
    async set(state, reason) {
      await ctx.agents.set(who, state, reason, 'client');
    },
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      void ctx.agents.disconnect(who.userId).catch((err: unknown) => reportBackgroundFailure('agent socket: disconnect', err));
    },
  };
}
