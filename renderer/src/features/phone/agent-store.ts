import type { AgentIntentInput, AgentLinkState, AgentNotice, IntentOutcome, IntentRefusal, PendingIntent } from '../../../../shared/ipc/contract';
import { newerView, SYSTEM_REASONS, type Availability, type OperatorView } from '../../../../shared/rules/operator-model';
import type { TFunction } from 'i18next';
import { koe } from '../../koe';
import { useAppStore } from '../../app/app-store';
import { userStore } from '../../app/user-data';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../../../shared/gateway/policy';

export type { Availability };
/** The org's agent states policy (not-ready reasons, wrap-up time and extensions: GET /me/agent-policy). */
export type AgentPolicy = OrgPolicy['agents'];

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
  /** The org's policy as the gateway last said; null before it answered. */
  policy: AgentPolicy | null;
  /** The last read of the policy failed: the defaults are shown (and the gateway still checks every intent). */
  policyFailed: boolean;
  /** The last wrap-up the gateway accepted the end of, with the disposition saved on its call record: the operator is told. */
  saved: { callId: string; disposition: string | null; at: number } | null;
  load(): Promise<void>;
  /** Reads the org's agent policy (the reasons offered, whether a wrap-up can be extended). */
  loadPolicy(): Promise<void>;
  listen(): () => void;
  /** The operator's intents: shown pending until the gateway answers, refused visibly. */
  setAvailability(state: Availability, reason?: string): Promise<IntentOutcome>;
  finishWrapUp(callId: string, next?: Availability): Promise<IntentOutcome>;
  /** More wrap-up time, as the org's policy allows (the gateway decides). */
  extendWrapUp(callId: string): Promise<IntentOutcome>;
  /** Any intent or phone fact (the telephony object reports facts through here). A refused intent is shown. */
  send(intent: AgentIntentInput): Promise<IntentOutcome>;
  dismissNotice(n: number): void;
  dismissRefusal(): void;
}

export const initialAgentData = { view: null, link: 'offline' as AgentLinkState, pending: [], refusal: null, notices: [], policy: null, policyFailed: false, saved: null };
/** Refusals of these are the operator's business (shown); a fact the gateway ignores or refuses is not. */
const SHOWN: ReadonlySet<AgentIntentInput['kind']> = new Set(['setAvailability', 'finishWrapUp', 'extendWrapUp', 'hand']);
/** Refusals that mean the org's policy changed under the client: read it again. */
const POLICY_REFUSALS: ReadonlySet<IntentRefusal> = new Set(['unknown_reason', 'extension_not_allowed', 'extension_limit']);

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
    async loadPolicy() {
      try {
        const policy = await gatewayClient.call('agentPolicy', { accessToken: await accessToken() });
        set({ policy, policyFailed: false });
      } catch (err) {
        // the panel says the org's list could not be read and offers the defaults; the gateway still checks the reason
        logFailure("reading the org's agent policy", err);
        set({ policyFailed: true });
      }
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
    extendWrapUp(callId) {
      return get().send({ kind: 'extendWrapUp', callId });
    },
    async send(intent) {
      if (SHOWN.has(intent.kind)) set({ refusal: null });
      const r = await koe().agent.intent(intent);
      // The bridge to main failed: nothing was sent.
      const outcome: IntentOutcome = r.ok ? r.value : { outcome: 'refused', refusal: 'unreachable' };
      if (r.ok && r.value.outcome === 'accepted') set({ view: newerView(get().view, r.value.view) });
      if (outcome.outcome === 'refused' && SHOWN.has(intent.kind) && outcome.refusal !== 'signed_out') {
        set({ refusal: { kind: intent.kind, refusal: outcome.refusal, n: ++counter } });
        if (POLICY_REFUSALS.has(outcome.refusal)) void get().loadPolicy();
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

/** The policy to show: the org's, or the defaults until (or unless) the gateway has said. */
export const agentPolicyOf = (s: AgentStore): AgentPolicy => s.policy ?? DEFAULT_ORG_POLICY.agents;

/**
 * A not-ready reason in the reader's language: the org's label for its code, else the first
 * version's translated codes, else the text as stored (an older client's free text).
 */
export function reasonLabel(t: TFunction, language: string, policy: AgentPolicy, code: string): string {
  // the board's reason is the system's code when there is one (the policy refuses org codes that look like one)
  if ((SYSTEM_REASONS as readonly string[]).includes(code)) return t(`agent.reasonCode.${code}`);
  const r = policy.notReadyReasons.find((x) => x.code === code);
  if (r) return language === 'en' ? r.en : r.ja;
  return t(`agent.reason.${code}`, { defaultValue: code });
}

/** The call the gateway has in wrap-up, or null. */
export const wrapUpCallId = (s: AgentStore): string | null => s.view?.wrapUp?.callId ?? null;
