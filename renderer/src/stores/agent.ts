import type { AgentState, SettableAgentStateName } from '../../../shared/ipc/contract';
import { koe } from '../koe';
import { userStore } from './user-data';

export interface AgentStore {
  agent: AgentState;
  load(): Promise<void>;
  set(state: SettableAgentStateName, reason?: string): Promise<void>;
  listen(): () => void;
}

export const initialAgent: AgentState = { state: 'not_ready', reason: null, since: null, confirmed: false };

/** The operator's agent state; main owns it and tells the gateway. */
export const useAgentStore = userStore<AgentStore>('agent', { agent: initialAgent }, (set) => ({
  agent: initialAgent,
  async load() {
    const r = await koe().agent.state({});
    if (r.ok) set({ agent: r.value });
  },
  async set(state, reason) {
    const r = await koe().agent.setState(reason ? { state, reason } : { state });
    if (r.ok) set({ agent: r.value });
  },
  listen() {
    return koe().on('agent:changed', (agent) => set({ agent }));
  },
}));
