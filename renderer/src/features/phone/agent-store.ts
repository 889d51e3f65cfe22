import type { AgentIntentInput, AgentLinkState, AgentNotice, IntentOutcome, IntentRefusal, PendingIntent } from '../../../../shared/ipc/contract';
import { newerView, type Availability, type OperatorView } from '../../../../shared/rules/operator-model';
import { koe } from '../../koe';
import { useAppStore } from '../../app/app-store';
import { userStore } from '../../app/user-data';

export type { Availability };

/** A refusal the operator is shown: the intent it answered and why (a code, translated by the view). */
export interface ShownRefusal {
  kind: AgentIntentInput['kind'];
  refusal: IntentRefusal;
  /** Bumped per refusal: the same refusal twice is shown again. */
  n: number;
}
export interface ShownNotice extends AgentNotice {
  n: number;
}

export interface AgentStore {
  /** The newest view the gateway pushed (main keeps it); null before the first one. */
  view: OperatorView | null;
  link: AgentLinkState;
  pending: PendingIntent[];
  refusal: ShownRefusal | null;
  notices: ShownNotice[];
  load(): Promise<void>;
  listen(): () => void;
  /** The operator's intents: shown pending until the gateway answers, refused visibly. */
  setAvailability(state: Availability, reason?: string): Promise<IntentOutcome>;
  finishWrapUp(callId: string, next?: Availability): Promise<IntentOutcome>;
  /** Any intent or phone fact (the telephony object reports facts through here). A refused intent is shown. */
  send(intent: AgentIntentInput): Promise<IntentOutcome>;
  dismissNotice(n: number): void;
  dismissRefusal(): void;
}

export const initialAgentData = { view: null, link: 'offline' as AgentLinkState, pending: [], refusal: null, notices: [] };
/** Refusals of these are the operator's business (shown); a fact the gateway ignores or refuses is not. */
const SHOWN: ReadonlySet<AgentIntentInput['kind']> = new Set(['setAvailability', 'finishWrapUp']);

/** The operator's state: rendered from what the gateway says (through main); never invented here. */
export const useAgentStore = userStore<AgentStore>('agent', initialAgentData, (set, get) => {
  /** Tells refusals and notices apart (the same one twice is shown again). */
  let counter = 0;
  return {
    ...initialAgentData,
    async load() {
      const r = await koe().agent.state({});
      if (r.ok) set({ view: r.value.view, link: r.value.link, pending: r.value.pending });
    },
    listen() {
      const offs = [
        koe().on('agent:changed', (s) => {
          // the status bar's gateway indicator checks again at once when the link changes
          if (s.link !== get().link && (s.link === 'unreachable' || s.link === 'connected')) void useAppStore.getState().refreshGateway();
          set({ view: s.view, link: s.link, pending: s.pending });
        }),
        koe().on('agent:notice', (n) => {
          // one notice per event (the client may have said it already, e.g. a wrap-up the timer closed)
          if (get().notices.some((x) => x.code === n.code && x.callId === n.callId && n.callId !== null)) return;
          set({ notices: [...get().notices, { ...n, n: ++counter }].slice(-5) });
        }),
      ];
      return () => offs.forEach((off) => off());
    },
    setAvailability(state, reason) {
      return get().send({ kind: 'setAvailability', state, ...(reason ? { reason } : {}) });
    },
    finishWrapUp(callId, next) {
      return get().send({ kind: 'finishWrapUp', callId, ...(next ? { next } : {}) });
    },
    async send(intent) {
      if (SHOWN.has(intent.kind)) set({ refusal: null });
      const r = await koe().agent.intent(intent);
      // The bridge to main failed: nothing was sent.
      const outcome: IntentOutcome = r.ok ? r.value : { outcome: 'refused', refusal: 'unreachable' };
      if (r.ok && r.value.outcome === 'accepted') set({ view: newerView(get().view, r.value.view) });
      if (outcome.outcome === 'refused' && SHOWN.has(intent.kind) && outcome.refusal !== 'signed_out') {
        set({ refusal: { kind: intent.kind, refusal: outcome.refusal, n: ++counter } });
      }
      return outcome;
    },
    dismissNotice(n) {
      set({ notices: get().notices.filter((x) => x.n !== n) });
    },
    dismissRefusal() {
      set({ refusal: null });
    },
  };
});

/** The call the gateway has in wrap-up, or null. */
export const wrapUpCallId = (s: AgentStore): string | null => s.view?.wrapUp?.callId ?? null;
