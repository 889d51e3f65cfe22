// The phone service: the one place that drives the SipPhone and ties it to the rest of the
// renderer: credentials from main, the operator model (the gateway offers calls and says where
// the operator stands: this service reports the phone's facts and sends intents, it never
// decides a state), screen pop (the ringing panel and the customer card appear in the same
// React commit), ringtone and OS notification, the wrap-up draft and the call record at the
// gateway, the microphone, recovery after network loss. Every failure becomes a code
// (PhoneErrorCode) the UI translates: no error text reaches the operator.
import type { AgentIntentInput, IntentOutcome, IntentRefusal, SipCredentials } from '../../../../shared/ipc/contract';
import { toE164 } from '../../../../shared/rules/phone';
import { endCauseOfSipStatus, type EndCause, type OperatorView } from '../../../../shared/rules/operator-model';
import { koe } from '../../koe';
import { useAgentStore, type Availability } from '../../stores/agent';
import { setPop, useCustomerStore, type PopState } from '../../stores/customer';
import { initialPhoneState, liveCalls, updateCall, usePhoneStore, type PhoneCall } from '../../stores/phone';
import { holdsUserData, userDataGeneration } from '../../stores/user-data';
import { flushQueues, patchCall, screenPop } from '../customer/crm-service';
import { Ringtone } from './ringtone';
import { PhoneFailure, UNAVAILABLE_STATUSES, type CallInfo, type CallPhase, type PhoneErrorCode, type SipPhone, type SipPhoneListener } from './sip-phone';

/** The longest the ringing UI waits for the screen pop before it shows with "loading". */
const POP_WAIT_MS = 1_500;
/** The longest an INVITE waits for the gateway's offer of it (the push may come after the INVITE). */
export const OFFER_WAIT_MS = 2_000;
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
  callFacts.clear();
  credentialsRefused = false;
  microphone = null;
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
  phase(id, phase, status) {
    if (status !== undefined) factsOf(id).status = status;
    const call = usePhoneStore.getState().calls.find((c) => c.id === id);
    if (!call) {
      early.set(id, phase);
      return;
    }
    onPhase(call, phase);
  },
  held(id, held) {
    updateCall(id, { held });
    const call = usePhoneStore.getState().calls.find((c) => c.id === id);
    if (call) report({ kind: 'held', callId: call.sipCallId, held });
  },
  refusedCall(_statusCode, sipCallId) {
    // An inbound call the phone refused before it rang (420/488, sip-guard.ts): the gateway may
    // have offered it here (the operator is ringing in its model); the call ended without being
    // shown, and the model puts the operator back where they stood. A call the gateway never
    // offered is a stale fact to it, answered with the current view.
    report({ kind: 'ended', callId: sipCallId, cause: 'failed' });
  },
};

/** What this client saw of each call, for the facts it reports at its end. */
interface CallFacts {
  /** The operator pressed Decline. */
  declined?: boolean;
  /** Refused by this client (486): the operator already has a call. */
  busy?: boolean;
  /** The gateway ended it (operatorHangUp): nothing more to report. */
  endedByGateway?: boolean;
  /** A transfer of it is under way: its end is the transfer's completion. */
  transferring?: boolean;
  /** The primary call this client put on hold to consult a colleague (unheld if the consult fails). */
  heldForConsult?: boolean;
  /** An outbound call's final SIP status when it was not answered. */
  status?: number;
}
const callFacts = new Map<string, CallFacts>();
function factsOf(id: string): CallFacts {
  let f = callFacts.get(id);
  if (!f) callFacts.set(id, (f = {}));
  return f;
}

/** A fact of the phone for the gateway (queued by main while the link is down). */
function report(intent: AgentIntentInput): void {
  void useAgentStore.getState().send(intent);
}

/** The phone's error, shown in the operator's language (PhonePanel). */
function showError(code: PhoneErrorCode | null): void {
  usePhoneStore.setState({ error: code });
}

/** A refusal of an intent the phone sent (a dial): the code the phone panel shows. */
function refusalError(refusal: IntentRefusal): PhoneErrorCode {
  if (refusal === 'unreachable' || refusal === 'no_answer' || refusal === 'not_connected') return 'gateway_unreachable';
  if (refusal === 'no_microphone') return 'no_microphone';
  if (refusal === 'in_wrap_up') return 'dial_in_wrap_up';
  if (refusal === 'busy_with_call') return 'dial_during_call';
  return 'refused';
}

// --- the microphone ---------------------------------------------------------------------------

let microphone: boolean | null = null;
/** The microphone as this PC sees it: reported to the gateway (no microphone: no calls offered). */
function setMicrophone(available: boolean): void {
  usePhoneStore.setState({ microphone: available });
  if (microphone === available) return;
  microphone = available;
  report({ kind: 'microphone', available });
}

/** Is there an audio input? (enumerateDevices lists one even before the permission is granted.) */
export async function checkMicrophone(): Promise<boolean | null> {
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.enumerateDevices) return null;
  try {
    const list = await md.enumerateDevices();
    const available = list.some((d) => d.kind === 'audioinput');
    setMicrophone(available);
    return available;
  } catch (err) {
    console.warn(`[koe] listing the audio devices failed: ${err instanceof Error ? err.name : typeof err}`);
    return null;
  }
}
const onDeviceChange = () => void checkMicrophone();

/** The browser's getUserMedia failure -> our code; a missing device is reported to the gateway. */
function mediaError(err: unknown): PhoneErrorCode | null {
  const name = err instanceof Error || (typeof DOMException !== 'undefined' && err instanceof DOMException) ? (err as Error).name : '';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') {
    setMicrophone(false);
    return 'no_microphone';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'microphone_denied';
  return null;
}

/** Opens the microphone once (then closes it): answering without one would lose the call. */
async function probeMicrophone(): Promise<void> {
  if (usePhoneStore.getState().microphone === false) throw new PhoneFailure('no_microphone');
  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.getUserMedia) return;
  const audio = devices.inputDeviceId ? { deviceId: { exact: devices.inputDeviceId } } : true;
  let stream: MediaStream;
  try {
    stream = await md.getUserMedia({ audio, video: false });
  } catch (err) {
    const code = mediaError(err);
    if (code) throw new PhoneFailure(code);
    throw err;
  }
  for (const track of stream.getTracks()) track.stop();
  if (usePhoneStore.getState().microphone !== true) setMicrophone(true);
}

/** Starts the phone after sign-in: credentials from main, then REGISTER. */
export async function startTelephony(): Promise<void> {
  if (!deps || phone) return;
  const creds = await koe().sip.credentials({});
  if (!creds.ok || !creds.value) {
    usePhoneStore.setState({ registration: 'failed', registrationDetail: creds.ok ? 'no_credentials' : creds.error.code });
    return;
  }
  const audio = await koe().settings.audioDevices({});
  if (audio.ok) devices = audio.value;
  phone = deps.createPhone();
  domain = domainOf(creds.value.aor);
  scheduleCredentialRenewal(creds.value);
  window.addEventListener('online', onOnline);
  navigator.mediaDevices?.addEventListener?.('devicechange', onDeviceChange);
  stopFollowing = followGateway();
  void checkMicrophone();
  try {
    await phone.start({ credentials: creds.value, domain, devices, audioHost: ensureAudioHost() }, listener);
  } catch (err) {
    console.warn(`[koe] starting the phone failed: ${err instanceof Error ? err.name : typeof err}`);
    usePhoneStore.setState({ registration: 'failed', registrationDetail: 'start_failed' });
    scheduleRecover();
  }
}

let stopFollowing: (() => void) | null = null;

/**
 * What the gateway says, applied to the phone: a call it ends (operatorHangUp: no answer in
 * time, sign-out) ends here; the wrap-up panel follows view.wrapUp (the timer wins).
 */
function followGateway(): () => void {
  const offHangUp = koe().on('agent:hangUp', ({ callId }) => {
    const call = liveCalls(usePhoneStore.getState().calls).find((c) => c.sipCallId === callId);
    if (!call || !phone) return;
    factsOf(call.id).endedByGateway = true;
    // a call still ringing: "nobody answered" (480) to the caller; an answered one: BYE
    const ringing = call.direction === 'inbound' && !call.answeredAt;
    void (ringing ? phone.reject(call.id, 480) : phone.hangup(call.id)).catch((err: unknown) => console.warn(`[koe] ending a call the gateway ended failed: ${err instanceof Error ? err.name : typeof err}`));
  });
  let last: OperatorView | null = useAgentStore.getState().view;
  syncWrapUp(null, last);
  const offView = useAgentStore.subscribe((s) => {
    if (s.view === last) return;
    const prev = last;
    last = s.view;
    syncWrapUp(prev, s.view);
  });
  return () => {
    offHangUp();
    offView();
  };
}

/**
 * The wrap-up panel is open iff the gateway's view names a call in wrap-up. The draft (the
 * disposition being chosen) follows it; when the gateway closes it (the timer), the panel closes.
 */
function syncWrapUp(prev: OperatorView | null, view: OperatorView | null): void {
  const callId = view?.wrapUp?.callId ?? null;
  const draft = useCustomerStore.getState().wrapUp;
  if (callId && draft?.sipCallId !== callId) {
    useCustomerStore.setState({ wrapUp: { sipCallId: callId, startedAt: Date.now(), disposition: null, status: 'open' } });
  } else if (!callId && draft && draft.status === 'open') {
    useCustomerStore.setState({ wrapUp: null });
  }
  // The gateway's timer ended a wrap-up this client showed: say so (once, with the gateway's notice if it came).
  const closed = prev?.wrapUp?.callId;
  if (closed && closed !== callId && view?.calls.some((c) => c.callId === closed && c.wrapUp === 'timed_out')) {
    const agent = useAgentStore.getState();
    if (!agent.notices.some((n) => n.code === 'wrap_up_timed_out' && n.callId === closed)) {
      useAgentStore.setState({ notices: [...agent.notices, { code: 'wrap_up_timed_out' as const, callId: closed, n: Date.now() }].slice(-5) });
    }
  }
}

export async function stopTelephony(): Promise<void> {
  window.removeEventListener('online', onOnline);
  navigator.mediaDevices?.removeEventListener?.('devicechange', onDeviceChange);
  stopFollowing?.();
  stopFollowing = null;
  if (credTimer) clearTimeout(credTimer);
  if (recoverTimer) clearTimeout(recoverTimer);
  credTimer = recoverTimer = null;
  ringtone.stop();
  early.clear();
  replaced.clear();
  callFacts.clear();
  microphone = null;
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
    console.warn(`[koe] recovering the phone failed: ${err instanceof Error ? err.name : typeof err}`);
    usePhoneStore.setState({ registration: 'failed', registrationDetail: 'recover_failed' });
    scheduleRecover();
  }
}

function newCall(info: CallInfo, phase: CallPhase, consultFor: string | null = null): PhoneCall {
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

/**
 * The screen pop of a call, as the card shows it. It never fails: the card is a convenience, so
 * a failed pop shows an unknown caller and the call goes on (logged by the error's name only:
 * its text may carry the number).
 */
function popOf(info: CallInfo): Promise<PopState> {
  return screenPop({ sipCallId: info.sipCallId, callerNumber: info.remote, dialledNumber: info.dialledNumber, campaignId: info.campaignId })
    .then((r): PopState => (r.status === 'known' || r.campaign ? { status: 'ready', pop: r } : { status: 'unknown' }))
    .catch((err: unknown): PopState => {
      console.warn(`[koe] the screen pop failed: ${err instanceof Error ? err.name : typeof err}`);
      return { status: 'unknown' };
    });
}

/** Fetches the pop and stores it when it comes, unless the session ended meanwhile (then it is the previous user's). */
function popLater(info: CallInfo): void {
  const generation = userDataGeneration();
  void popOf(info).then((pop) => {
    if (generation === userDataGeneration()) setPop(info.sipCallId, pop);
  });
}

/** The gateway offered this call to this operator (its view holds it, inbound, not yet answered). */
function offered(view: OperatorView | null, sipCallId: string): boolean {
  return Boolean(view?.calls.some((c) => c.callId === sipCallId && c.direction === 'inbound' && (c.state === 'offered' || c.state === 'ringing')));
}

/** Resolves true once the gateway's view offers this call, false after `ms` (the push may follow the INVITE). */
function waitForOffer(sipCallId: string, ms: number): Promise<boolean> {
  if (offered(useAgentStore.getState().view, sipCallId)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(false);
    }, ms);
    const off = useAgentStore.subscribe((s) => {
      if (!offered(s.view, sipCallId)) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
}

/**
 * An INVITE that did not come through the gateway's DID routing (no X-Koe-Campaign / X-Koe-DID
 * from Kamailio): a colleague's consultation call, or a customer the trunk sends us after a
 * colleague's blind transfer. Those are not the gateway's offers; they ring if we have no call.
 */
const internalCall = (info: CallInfo) => !info.campaignId && !info.dialledNumber;

async function onIncoming(info: CallInfo): Promise<void> {
  const p = phone;
  if (!p) return;
  if (info.replaces && usePhoneStore.getState().calls.some((c) => c.id === info.replaces)) {
    onReplacing(info, info.replaces);
    return;
  }
  performance.mark(`koe:invite:${info.id}`, { startTime: info.receivedAt });
  const generation = userDataGeneration();
  const busy = liveCalls(usePhoneStore.getState().calls).length > 0;
  // Only a call the gateway offered to this operator rings (the gateway offers none to a busy,
  // locked, not-ready or microphone-less operator); anything else is refused "busy here", and
  // no customer data is asked for it.
  const internal = internalCall(info);
  let accept = !busy && (internal || (await waitForOffer(info.sipCallId, OFFER_WAIT_MS)));
  if (accept && internal) {
    // a direct call: the gateway takes it in as "incoming" when we say it rings, or refuses it
    // (signed out there, or busy); with the gateway unreachable it rings all the same
    const r = await useAgentStore.getState().send({ kind: 'ringing', callId: info.sipCallId });
    accept = !(r.outcome === 'refused' && (r.refusal === 'offline' || r.refusal === 'busy_with_call'));
  }
  if (!accept) {
    factsOf(info.id).busy = true;
    await p.reject(info.id, 486).catch((err: unknown) => console.warn(`[koe] refusing a call not offered failed: ${err instanceof Error ? err.name : typeof err}`));
    early.delete(info.id);
    callFacts.delete(info.id);
    // A call the gateway did offer but this phone could not take (it has a call): the gateway hears "busy".
    if (offered(useAgentStore.getState().view, info.sipCallId)) report({ kind: 'ended', callId: info.sipCallId, cause: 'busy' });
    return;
  }
  const popping = popOf(info);
  const pop = await Promise.race<PopState | null>([popping, new Promise<null>((r) => setTimeout(() => r(null), POP_WAIT_MS))]);
  const endedMeanwhile = early.get(info.id) === 'ended';
  early.delete(info.id);
  if (endedMeanwhile) {
    report({ kind: 'ended', callId: info.sipCallId, cause: 'completed' });
    return;
  }
  if (generation !== userDataGeneration()) {
    // The session ended while the pop was on its way: nobody is there to take this call.
    await p.reject(info.id, 486).catch((err: unknown) => console.warn(`[koe] declining a call offered before the session ended failed: ${err instanceof Error ? err.name : typeof err}`));
    return;
  }
  // One synchronous block: React commits the ringing panel and the card together.
  setPop(info.sipCallId, pop ?? { status: 'loading' });
  usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, 'ringing')] }));
  if (!pop) void popping.then((r) => generation === userDataGeneration() && setPop(info.sipCallId, r));
  if (!internal) report({ kind: 'ringing', callId: info.sipCallId });
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

/** How the call ended, as the model's cause, from what this phone saw. */
function endCause(call: PhoneCall, f: CallFacts): Extract<EndCause, 'completed' | 'declined' | 'busy' | 'failed' | 'no_answer'> {
  if (call.answeredAt) return 'completed';
  if (call.direction === 'inbound') return f.declined ? 'declined' : f.busy ? 'busy' : 'completed';
  return endCauseOfSipStatus(f.status ?? null);
}

function onPhase(call: PhoneCall, phase: CallPhase): void {
  const f = factsOf(call.id);
  if (phase === 'established') {
    const answeredAt = Date.now();
    updateCall(call.id, { phase, answeredAt });
    stopRinging(call.id);
    report({ kind: 'answered', callId: call.sipCallId });
    if (call.direction === 'inbound') patchCall(call.sipCallId, { answeredAt: new Date(answeredAt).toISOString() });
  } else if (phase === 'ended') {
    const endedAt = Date.now();
    updateCall(call.id, { phase, endedAt });
    stopRinging(call.id);
    callFacts.delete(call.id);
    if (replaced.delete(call.id)) {
      // an attended transfer to us took its place
      report({ kind: 'ended', callId: call.sipCallId, cause: 'completed' });
      return;
    }
    if (f.transferring) report({ kind: 'transfer', callId: call.sipCallId, phase: 'completed' });
    else if (!f.endedByGateway) report({ kind: 'ended', callId: call.sipCallId, cause: endCause(call, f) });
    if (call.direction === 'inbound' && call.answeredAt) {
      patchCall(call.sipCallId, { endedAt: new Date(endedAt).toISOString() });
    }
    // An outbound call that did not connect: say why. A consultation that did not: the customer comes back.
    if (call.direction === 'outbound' && !call.answeredAt && f.status !== undefined && f.status !== 487) {
      const unavailable = UNAVAILABLE_STATUSES.has(f.status) || f.status === 486 || f.status === 603;
      if (call.consultFor) {
        showError(unavailable ? 'consult_unavailable' : 'consult_failed');
      } else {
        const cause = endCause(call, f);
        showError(cause === 'busy' ? 'dial_busy' : cause === 'no_answer' ? 'dial_no_answer' : 'dial_failed');
      }
    }
    if (call.consultFor) void resumeAfterConsult(call.consultFor);
  } else {
    updateCall(call.id, { phase });
  }
}

/** The consultation ended without a transfer: the customer we put on hold for it is taken off hold. */
async function resumeAfterConsult(primaryId: string): Promise<void> {
  const f = callFacts.get(primaryId);
  const primary = liveCalls(usePhoneStore.getState().calls).find((c) => c.id === primaryId);
  if (!f?.heldForConsult || !primary || f.transferring) return;
  f.heldForConsult = false;
  if (!primary.held || !phone) return;
  await phone.hold(primaryId, false).catch((err: unknown) => {
    console.warn(`[koe] taking the customer off hold after a consultation failed: ${err instanceof Error ? err.name : typeof err}`);
    showError('hold_failed');
  });
}

function stopRinging(id: string): void {
  ringtone.stop();
  notifications.get(id)?.close();
  notifications.delete(id);
}

function need(): SipPhone {
  if (!phone) throw new PhoneFailure('not_started');
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

/** Any failure -> the code the operator is shown (never the error's text). */
export function phoneErrorCode(err: unknown): PhoneErrorCode {
  if (err instanceof PhoneFailure) return err.code;
  const media = mediaError(err);
  if (media) return media;
  console.warn(`[koe] a phone action failed: ${err instanceof Error ? err.name : typeof err}`);
  return 'unexpected';
}

async function guard(fn: () => Promise<unknown> | unknown): Promise<boolean> {
  // the last error goes when the operator acts again; one the call's events set meanwhile stays
  showError(null);
  try {
    await fn();
    return true;
  } catch (err) {
    showError(phoneErrorCode(err));
    return false;
  }
}

const callById = (id: string) => usePhoneStore.getState().calls.find((c) => c.id === id);

/** A transfer of `id`: the gateway hears it start, and fail (the customer stays with us) or complete. */
async function transfer(id: string, run: () => Promise<void>): Promise<boolean> {
  const call = callById(id);
  if (!call) return guard(() => need());
  const f = factsOf(id);
  f.transferring = true;
  report({ kind: 'transfer', callId: call.sipCallId, phase: 'started' });
  const ok = await guard(run);
  if (!ok) {
    f.transferring = false;
    // still ours: the gateway puts the call back where it was, the operator is told (PhonePanel)
    if (callById(id)?.phase !== 'ended') report({ kind: 'transfer', callId: call.sipCallId, phase: 'failed' });
    if (f.heldForConsult) await resumeAfterConsult(id);
  }
  return ok;
}

export const phoneActions = {
  /** Answers only with a microphone (checked first: a failed answer would lose the call). */
  answer: (id: string) =>
    guard(async () => {
      await probeMicrophone();
      await need().answer(id);
    }),
  reject: (id: string, code: 486 | 603 = 603) =>
    guard(() => {
      if (code === 603) factsOf(id).declined = true;
      return need().reject(id, code);
    }),
  hangup: (id: string) => guard(() => need().hangup(id)),
  /** Hangs up every live call (sign-out during a call, on purpose). */
  async hangupAll(): Promise<void> {
    const p = phone;
    if (!p) return;
    for (const c of liveCalls(usePhoneStore.getState().calls)) {
      await p.hangup(c.id).catch((err: unknown) => console.warn(`[koe] hanging up before sign-out failed: ${err instanceof Error ? err.name : typeof err}`));
    }
  },
  /**
   * Dials: the gateway hears of the call first (a `dial` intent with its SIP Call-ID); only
   * when it accepts is the INVITE sent. A consultation puts the customer on hold first (and
   * back if the consultation does not happen).
   */
  async dial(text: string, consultFor: string | null = null): Promise<boolean> {
    const target = dialTarget(text);
    if (!target) {
      showError('invalid_number');
      return false;
    }
    const primary = consultFor ? callById(consultFor) : undefined;
    const ok = await guard(async () => {
      const p = need();
      await probeMicrophone();
      if (consultFor && primary && !primary.held) {
        await p.hold(consultFor, true);
        factsOf(consultFor).heldForConsult = true;
      }
      let refusal: IntentOutcome | null = null;
      const number = target.replace(/^sip:/, '').split('@')[0]!;
      const info = await p.dial(target, async (call) => {
        const r = await useAgentStore.getState().send({ kind: 'dial', callId: call.sipCallId, number, ...(primary ? { consultFor: primary.sipCallId } : {}) });
        if (r.outcome === 'accepted') return true;
        refusal = r;
        return false;
      });
      if (!info) {
        const r = refusal as IntentOutcome | null;
        throw new PhoneFailure(r?.outcome === 'refused' ? refusalError(r.refusal) : 'refused');
      }
      const early1 = early.get(info.id);
      early.delete(info.id);
      usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, early1 ?? 'dialing', consultFor)] }));
      // a customer call (not a consultation): the card for the dialled number, within the
      // operator's campaigns (the gateway recorded the call at the dial intent)
      if (!consultFor) popLater(info);
      if (early1 === 'ended') onPhase(callById(info.id)!, 'ended');
    });
    if (!ok && consultFor) await resumeAfterConsult(consultFor);
    return ok;
  },
  hold: (id: string, on: boolean) =>
    guard(async () => {
      await need().hold(id, on);
      if (!on) {
        const f = callFacts.get(id);
        if (f) f.heldForConsult = false;
      }
    }),
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
  blindTransfer(id: string, text: string): Promise<boolean> {
    const target = dialTarget(text);
    if (!target) {
      showError('invalid_number');
      return Promise.resolve(false);
    }
    return transfer(id, () => need().blindTransfer(id, target));
  },
  attendedTransfer: (id: string, consultId: string) => transfer(id, () => need().attendedTransfer(id, consultId)),
  async setDevices(next: { inputDeviceId: string | null; outputDeviceId: string | null }): Promise<void> {
    devices = next;
    await koe().settings.setAudioDevices(next);
    await phone?.setDevices(next).catch((err: unknown) => showError(phoneErrorCode(err)));
  },
  /**
   * Ends the wrap-up the gateway has open: the gateway decides (finishWrapUp, with where the
   * operator goes next); the disposition and wrap-up time are saved on the call record as before.
   * The panel closes when the gateway's view says the wrap-up is over, not before.
   */
  async finishWrapUp(next?: Availability): Promise<IntentOutcome | null> {
    const w = useCustomerStore.getState().wrapUp;
    if (!w) return null;
    const wrapUpSeconds = Math.max(0, Math.round((Date.now() - w.startedAt) / 1000));
    useCustomerStore.setState({ wrapUp: { ...w, status: 'saving' } });
    const outcome = await useAgentStore.getState().finishWrapUp(w.sipCallId, next);
    patchCall(w.sipCallId, { ...(w.disposition ? { disposition: w.disposition } : {}), wrapUpSeconds });
    const cur = useCustomerStore.getState().wrapUp;
    if (cur?.sipCallId === w.sipCallId) {
      const open = useAgentStore.getState().view?.wrapUp?.callId === w.sipCallId;
      // still open at the gateway (refused, or unreachable): the operator can try again
      useCustomerStore.setState({ wrapUp: open ? { ...cur, status: 'open' } : null });
    }
    return outcome;
  },
  currentDevices: () => devices,
  /** Supervision's barge: the sender of the live customer call (not a consultation leg), or null. */
  customerAudioSender(): RTCRtpSender | null {
    const call = usePhoneStore.getState().calls.find((c) => c.phase === 'established' && !c.consultFor);
    return call ? (phone?.audioSender?.(call.id) ?? null) : null;
  },
};
