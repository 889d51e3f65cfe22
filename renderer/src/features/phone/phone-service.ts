// The phone service: the one place that drives the SipPhone and ties it to the rest of the
// renderer: credentials from main, agent state (refuse calls unless READY), screen pop (the
// ringing panel and the customer card appear in the same React commit), ringtone and OS
// notification, wrap-up and the call record at the gateway, recovery after network loss.
import type { SipCredentials } from '../../../../shared/ipc/contract';
import { toE164 } from '../../../../shared/rules/phone';
import { koe } from '../../koe';
import { useAgentStore } from '../../stores/agent';
import { setPop, useCustomerStore, type PopState } from '../../stores/customer';
import { initialPhoneState, liveCalls, updateCall, usePhoneStore, type CallView } from '../../stores/phone';
import { holdsUserData, userDataGeneration } from '../../stores/user-data';
import { flushQueues, patchCall, screenPop } from '../customer/crm-service';
import { Ringtone } from './ringtone';
import type { CallInfo, CallPhase, SipPhone, SipPhoneListener } from './sip-phone';

/** The longest the ringing UI waits for the screen pop before it shows with "loading". */
const POP_WAIT_MS = 1_500;
const CREDENTIAL_MARGIN_MS = 60_000;

export interface TelephonyDeps {
  createPhone(): SipPhone;
  /** Copy for the OS notification (i18n lives in React; the service gets plain strings). */
  notificationText?(call: CallInfo): { title: string; body: string };
}

let deps: TelephonyDeps | null = null;
let phone: SipPhone | null = null;
let domain = '';
let credTimer: ReturnType<typeof setTimeout> | null = null;
let recoverTimer: ReturnType<typeof setTimeout> | null = null;
let recoverAttempt = 0;
let audioHost: HTMLElement | null = null;
const ringtone = new Ringtone();
const notifications = new Map<string, Notification>();
/** Calls whose pop is in flight: phases that arrive meanwhile. */
const early = new Map<string, CallPhase>();
let devices = { inputDeviceId: null as string | null, outputDeviceId: null as string | null };

/**
 * The session ended: the service's per-call state goes with the user's data (the phone store,
 * whose calls carry the customer's number, is cleared by user-data.ts). Whether a live call
 * ends is the phone's business (Telephony stops it at sign-out); nothing of it stays for the
 * UI to render, and a screen pop still in flight is dropped (see userDataGeneration).
 */
holdsUserData('phone-service', () => {
  ringtone.stop();
  for (const n of notifications.values()) n.close();
  notifications.clear();
  early.clear();
  replaced.clear();
  credentialsRefused = false;
});

export function configureTelephony(d: TelephonyDeps): void {
  deps = d;
}

function ensureAudioHost(): HTMLElement {
  if (audioHost && audioHost.isConnected) return audioHost;
  audioHost = document.createElement('div');
  audioHost.hidden = true;
  audioHost.dataset.testid = 'call-audio-host';
  document.body.appendChild(audioHost);
  return audioHost;
}

function domainOf(aor: string): string {
  return aor.replace(/^sips?:/, '').split('@')[1] ?? '';
}

/** Set when Kamailio refused the credentials (403): the next recovery renews them. */
let credentialsRefused = false;

const listener: SipPhoneListener = {
  registration(state, detail) {
    usePhoneStore.setState({ registration: state, registrationDetail: detail ?? null });
    if (state === 'registered') recoverAttempt = 0;
    if (state === 'failed') {
      // 403 on REGISTER: Kamailio no longer accepts the credentials held (an access cut); the
      // next recovery asks main for fresh ones instead of retrying the refused ones.
      if (/^403\b/.test(detail ?? '')) credentialsRefused = true;
      scheduleRecover();
    }
  },
  incoming(info) {
    void onIncoming(info);
  },
  phase(id, phase) {
    const call = usePhoneStore.getState().calls.find((c) => c.id === id);
    if (!call) {
      early.set(id, phase);
      return;
    }
    onPhase(call, phase);
  },
  held(id, held) {
    updateCall(id, { held });
  },
  refusedCall() {
    // An inbound call the phone refused before it rang (420/488, sip-guard.ts): routed here
    // (the gateway set on_call; its push may not be here yet, hence 'ready' too) and never
    // shown, so nothing else releases the operator.
    const live = usePhoneStore.getState().calls.some((c) => c.phase !== 'ended');
    const state = useAgentStore.getState().agent.state;
    if (!live && (state === 'on_call' || state === 'ready')) void useAgentStore.getState().set('ready');
  },
};

/** Starts the phone after sign-in: credentials from main, then REGISTER. */
export async function startTelephony(): Promise<void> {
  if (!deps || phone) return;
  const creds = await koe().sip.credentials({});
  if (!creds.ok || !creds.value) {
    usePhoneStore.setState({ registration: 'failed', registrationDetail: creds.ok ? 'no credentials' : creds.error.code });
    return;
  }
  const audio = await koe().settings.audioDevices({});
  if (audio.ok) devices = audio.value;
  phone = deps.createPhone();
  domain = domainOf(creds.value.aor);
  scheduleCredentialRenewal(creds.value);
  window.addEventListener('online', onOnline);
  try {
    await phone.start({ credentials: creds.value, domain, devices, audioHost: ensureAudioHost() }, listener);
  } catch (err) {
    usePhoneStore.setState({ registration: 'failed', registrationDetail: (err as Error).message });
    scheduleRecover();
  }
}

export async function stopTelephony(): Promise<void> {
  window.removeEventListener('online', onOnline);
  if (credTimer) clearTimeout(credTimer);
  if (recoverTimer) clearTimeout(recoverTimer);
  credTimer = recoverTimer = null;
  ringtone.stop();
  early.clear();
  replaced.clear();
  const p = phone;
  phone = null;
  await p?.stop().catch(() => undefined);
  usePhoneStore.setState({ ...initialPhoneState });
}

function scheduleCredentialRenewal(c: SipCredentials): void {
  if (credTimer) clearTimeout(credTimer);
  const ms = Math.max(5_000, c.expiresAt - Date.now() - CREDENTIAL_MARGIN_MS);
  credTimer = setTimeout(async () => {
    const r = await koe().sip.credentials({});
    if (r.ok && r.value) {
      phone?.updateCredentials(r.value);
      scheduleCredentialRenewal(r.value);
    } else {
      credTimer = null;
      scheduleCredentialRenewal({ ...c, expiresAt: Date.now() + CREDENTIAL_MARGIN_MS + 15_000 });
    }
  }, Math.min(ms, 2 ** 31 - 1));
}

function onOnline(): void {
  flushQueues();
  void recover();
}

function scheduleRecover(): void {
  if (!phone || recoverTimer) return;
  // first retry at once (a dropped socket, the server still there), then 1 s, 2 s, ... 30 s
  const attempt = recoverAttempt++;
  const delay = attempt === 0 ? 100 : Math.min(30_000, 1_000 * 2 ** (attempt - 1));
  recoverTimer = setTimeout(() => {
    recoverTimer = null;
    void recover();
  }, delay);
}

/** Network back, resume from sleep, or a dropped transport: reconnect and register again. */
export async function recover(): Promise<void> {
  if (!phone) return;
  try {
    const renew = credentialsRefused;
    credentialsRefused = false;
    const r = await koe().sip.credentials(renew ? { renew: true } : {});
    if (r.ok && r.value) phone.updateCredentials(r.value);
    await phone.recover();
  } catch (err) {
    usePhoneStore.setState({ registration: 'failed', registrationDetail: (err as Error).message });
    scheduleRecover();
  }
}

function newCall(info: CallInfo, phase: CallPhase, consultFor: string | null = null): CallView {
  return { ...info, phase, held: false, muted: false, answeredAt: null, endedAt: null, dtmf: '', consultFor };
}

/** Calls replaced by an attended transfer to us: their end is no wrap-up, no call record. */
const replaced = new Set<string>();

/** Attended transfer to us: the new call takes the replaced one's place (answered by the phone). */
function onReplacing(info: CallInfo, replacedId: string): void {
  replaced.add(replacedId);
  const phase = early.get(info.id) ?? (info.direction === 'inbound' ? 'ringing' : 'dialing');
  early.delete(info.id);
  usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, phase)] }));
  popLater(info);
}

/** Fetches the pop and stores it when it comes, unless the session ended meanwhile (then it is the previous user's). */
function popLater(info: CallInfo): void {
  const generation = userDataGeneration();
  const store = (pop: PopState) => {
    if (generation === userDataGeneration()) setPop(info.sipCallId, pop);
  };
  void screenPop({ sipCallId: info.sipCallId, callerNumber: info.remote, dialledNumber: info.dialledNumber, campaignId: info.campaignId })
    .then((r) => store(r.status === 'known' || r.campaign ? { status: 'ready', pop: r } : { status: 'unknown' }))
    .catch(() => store({ status: 'unknown' }));
}

async function onIncoming(info: CallInfo): Promise<void> {
  const p = phone;
  if (!p) return;
  if (info.replaces && usePhoneStore.getState().calls.some((c) => c.id === info.replaces)) {
    onReplacing(info, info.replaces);
    return;
  }
  // The gateway routes only to READY operators; the client refuses too (and while busy).
  // on_call: the gateway routed this very call here (its push may arrive before or after the INVITE).
  const state = useAgentStore.getState().agent.state;
  const ready = state === 'ready' || state === 'on_call';
  if (!ready || liveCalls(usePhoneStore.getState().calls).length > 0) {
    await p.reject(info.id, 486).catch(() => undefined);
    early.delete(info.id);
    return;
  }
  performance.mark(`koe:invite:${info.id}`, { startTime: info.receivedAt });
  const generation = userDataGeneration();
  const pop = await Promise.race<PopState | null>([
    screenPop({ sipCallId: info.sipCallId, callerNumber: info.remote, dialledNumber: info.dialledNumber, campaignId: info.campaignId })
      .then((r): PopState => (r.status === 'known' || r.campaign ? { status: 'ready', pop: r } : { status: 'unknown' }))
      .catch((): PopState => ({ status: 'unknown' })),
    new Promise<null>((r) => setTimeout(() => r(null), POP_WAIT_MS)),
  ]);
  const endedMeanwhile = early.get(info.id) === 'ended';
  early.delete(info.id);
  if (endedMeanwhile) return;
  if (generation !== userDataGeneration()) {
    // The session ended while the pop was on its way: nobody is there to take this call.
    await p.reject(info.id, 486).catch((err: unknown) => console.warn(`[koe] declining a call offered before the session ended failed: ${err instanceof Error ? err.name : typeof err}`));
    return;
  }
  // One synchronous block: React commits the ringing panel and the card together.
  setPop(info.sipCallId, pop ?? { status: 'loading' });
  usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, 'ringing')] }));
  if (!pop) popLater(info);
  ringtone.start(devices.outputDeviceId);
  notify(info);
}

function notify(info: CallInfo): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !deps?.notificationText) return;
  try {
    const n = new Notification(deps.notificationText(info).title, { body: deps.notificationText(info).body, tag: info.sipCallId, silent: true });
    n.onclick = () => window.focus();
    notifications.set(info.id, n);
  } catch {
    // Notifications are a convenience; the ringing panel is the source of truth.
  }
}

function onPhase(call: CallView, phase: CallPhase): void {
  if (phase === 'established') {
    const answeredAt = Date.now();
    updateCall(call.id, { phase, answeredAt });
    stopRinging(call.id);
    if (call.direction === 'inbound') patchCall(call.sipCallId, { answeredAt: new Date(answeredAt).toISOString() });
  } else if (phase === 'ended') {
    const endedAt = Date.now();
    updateCall(call.id, { phase, endedAt });
    stopRinging(call.id);
    if (replaced.delete(call.id)) return; // an attended transfer to us took its place
    // Routed here (on_call) but never answered: declined, or the caller gave up.
    if (call.direction === 'inbound' && !call.answeredAt && useAgentStore.getState().agent.state === 'on_call') {
      void useAgentStore.getState().set('ready');
    }
    if (call.direction === 'inbound' && call.answeredAt) {
      patchCall(call.sipCallId, { endedAt: new Date(endedAt).toISOString() });
    }
    // An answered customer call (not a consultation leg) goes to wrap-up.
    if (call.answeredAt && !call.consultFor && !useCustomerStore.getState().wrapUp && call.direction === 'inbound') {
      useCustomerStore.setState({ wrapUp: { sipCallId: call.sipCallId, startedAt: endedAt, disposition: null, status: 'open' } });
      void useAgentStore.getState().set('wrap_up');
    }
  } else {
    updateCall(call.id, { phase });
  }
}

function stopRinging(id: string): void {
  ringtone.stop();
  notifications.get(id)?.close();
  notifications.delete(id);
}

function need(): SipPhone {
  if (!phone) throw new Error('phone not started');
  return phone;
}

/** What the operator typed -> a SIP URI: a phone number (E.164, Japan by default) or a SIP user. */
export function dialTarget(text: string): string | null {
  const trimmed = text.normalize('NFKC').trim();
  const e164 = toE164(trimmed);
  if (e164) return `sip:${e164}@${domain}`;
  if (/^[a-z][a-z0-9._-]{0,63}$/i.test(trimmed)) return `sip:${trimmed}@${domain}`;
  return null;
}

async function guard(fn: () => Promise<unknown> | unknown): Promise<boolean> {
  try {
    await fn();
    usePhoneStore.setState({ error: null });
    return true;
  } catch (err) {
    usePhoneStore.setState({ error: (err as Error).message });
    return false;
  }
}

export const phoneActions = {
  answer: (id: string) => guard(() => need().answer(id)),
  reject: (id: string, code: 486 | 603 = 603) => guard(() => need().reject(id, code)),
  hangup: (id: string) => guard(() => need().hangup(id)),
  async dial(text: string, consultFor: string | null = null): Promise<boolean> {
    const target = dialTarget(text);
    if (!target) {
      usePhoneStore.setState({ error: 'invalid_number' });
      return false;
    }
    return guard(async () => {
      const p = need();
      if (consultFor) await p.hold(consultFor, true);
      const info = await p.dial(target);
      const early1 = early.get(info.id);
      early.delete(info.id);
      usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, early1 ?? 'dialing', consultFor)] }));
    });
  },
  hold: (id: string, on: boolean) => guard(() => need().hold(id, on)),
  mute: (id: string, on: boolean) =>
    guard(() => {
      need().mute(id, on);
      updateCall(id, { muted: on });
    }),
  dtmf: (id: string, tone: string) =>
    guard(async () => {
      await need().dtmf(id, tone);
      const call = usePhoneStore.getState().calls.find((c) => c.id === id);
      updateCall(id, { dtmf: `${call?.dtmf ?? ''}${tone}`.slice(-32) });
    }),
  blindTransfer: (id: string, text: string) =>
    guard(async () => {
      const target = dialTarget(text);
      if (!target) throw new Error('invalid_number');
      await need().blindTransfer(id, target);
    }),
  attendedTransfer: (id: string, consultId: string) => guard(() => need().attendedTransfer(id, consultId)),
  async setDevices(next: { inputDeviceId: string | null; outputDeviceId: string | null }): Promise<void> {
    devices = next;
    await koe().settings.setAudioDevices(next);
    await phone?.setDevices(next).catch(() => undefined);
  },
  /** Ends wrap-up: saves the disposition and wrap-up time, then the operator is READY again. */
  finishWrapUp(): void {
    const w = useCustomerStore.getState().wrapUp;
    if (!w) return;
    const wrapUpSeconds = Math.max(0, Math.round((Date.now() - w.startedAt) / 1000));
    useCustomerStore.setState({ wrapUp: { ...w, status: 'saving' } });
    patchCall(w.sipCallId, { ...(w.disposition ? { disposition: w.disposition } : {}), wrapUpSeconds }, () => {
      const cur = useCustomerStore.getState().wrapUp;
      if (cur?.sipCallId === w.sipCallId) useCustomerStore.setState({ wrapUp: { ...cur, status: 'saved' } });
    });
    useCustomerStore.setState({ wrapUp: null });
    void useAgentStore.getState().set('ready');
  },
  currentDevices: () => devices,
  /** Supervision's barge: the sender of the live customer call (not a consultation leg), or null. */
  customerAudioSender(): RTCRtpSender | null {
    const call = usePhoneStore.getState().calls.find((c) => c.phase === 'established' && !c.consultFor);
    return call ? (phone?.audioSender?.(call.id) ?? null) : null;
  },
};
