// The telephony object: the one thing that drives the SipPhone and ties it to the rest of the
// renderer: credentials from main, the operator model (the gateway offers calls and says where
// the operator stands: this object reports the phone's facts and sends intents, it never
// decides a state), ringing, the microphone, recovery after network loss. One instance per
// mounted <Telephony> (Telephony.tsx), handed to the views through React context: no module
// state. Its parts: calls.ts (per-call facts), incoming.ts (INVITEs and the screen pop),
// call-control.ts (the operator's actions), microphone.ts, ringer.ts.
import type { SipCredentials } from '../../../../shared/ipc/contract';
import { holdsUserData } from '../../app/user-data';
import { koe } from '../../koe';
import { bestEffort, logFailure } from '../../log';
import { CallControl } from './call-control';
import { CallBook, domainOf, report, type CallerViews, type PhoneLine } from './calls';
import { IncomingCalls } from './incoming';
import { Microphone, ringerSink, type AudioDevices } from './microphone';
import { holdPatch, initialPhoneState, liveCalls, updateCall, usePhoneStore } from './phone-store';
import { QualityMonitor } from './quality';
import { Ringer, type NotificationText } from './ringer';
import type { SipPhone, SipPhoneListener } from './sip-phone';

const CREDENTIAL_MARGIN_MS = 60_000;
/** The longest wait between two attempts to reconnect and register. */
const RECOVER_MAX_MS = 3_000;

export interface TelephonyDeps {
  /** The SIP layer (SIP.js in the app, a fake in component tests); none: no phone (actions fail "not started"). */
  createPhone?(): SipPhone;
  /** Copy for the OS notification (i18n lives in React; the service gets plain strings). */
  notificationText?: NotificationText;
  /** The customer views the phone feeds (composed by the shell). */
  caller: CallerViews;
}

export class TelephonyService {
  private readonly line: PhoneLine = { phone: null, domain: '' };
  private readonly book = new CallBook();
  private readonly microphone = new Microphone();
  private readonly ringer: Ringer;
  /** Each answered call's quality (quality.ts), sampled while the call lasts. */
  private readonly quality: QualityMonitor;
  private readonly incoming: IncomingCalls;
  /** The operator's actions on calls (PhonePanel, HomeScreen). */
  readonly calls: CallControl;
  private credTimer: ReturnType<typeof setTimeout> | null = null;
  private recoverTimer: ReturnType<typeof setTimeout> | null = null;
  private recoverAttempt = 0;
  /** Set when Kamailio refused the credentials (403): the next recovery renews them. */
  private credentialsRefused = false;
  private audioHost: HTMLElement | null = null;
  private stopFollowing: (() => void) | null = null;
  /** Bumped by start() and stop(): a start still waiting for main when stop() (or another start) came gives up. */
  private run = 0;
  /** The OS says the network is back (or changed): the old SIP socket may be dead. */
  private readonly onOnline = () => void this.recover({ freshTransport: true });
  private readonly onDeviceChange = () => void this.microphone.check();

  constructor(private deps: TelephonyDeps) {
    this.ringer = new Ringer(() => this.deps.notificationText);
    this.quality = new QualityMonitor(this.line);
    this.incoming = new IncomingCalls(this.line, this.book, this.ringer, this.microphone, () => this.deps.caller);
    this.calls = new CallControl(this.line, this.book, this.ringer, this.microphone, this.incoming, () => this.deps.caller);
  }

  configure(deps: Partial<TelephonyDeps>): void {
    this.deps = { ...this.deps, ...deps };
  }

  /**
   * While mounted, this object's per-call state is the user's data: the session's end clears it
   * (user-data.ts; the phone store, whose calls carry the customer's number, is cleared there too).
   * Whether a live call ends is the phone's business (Telephony stops it at sign-out).
   * Returns the detach function.
   */
  attach(): () => void {
    return holdsUserData('phone-service', () => this.clearCalls());
  }

  private clearCalls(): void {
    this.ringer.stopAll();
    this.quality.stopAll();
    this.book.clear();
    this.credentialsRefused = false;
    this.microphone.reset();
  }

  /** Starts the phone after sign-in: credentials from main, then REGISTER. */
  async start(): Promise<void> {
    if (!this.deps.createPhone || this.line.phone) return;
    const run = ++this.run;
    const creds = await koe().sip.credentials({});
    if (run !== this.run) return;
    if (!creds.ok || !creds.value) {
      usePhoneStore.setState({ registration: 'failed', registrationDetail: creds.ok ? 'no_credentials' : creds.error.code });
      return;
    }
    const audio = await koe().settings.audioDevices({});
    if (audio.ok) this.microphone.devices = audio.value;
    if (run !== this.run) return;
    const phone = this.deps.createPhone();
    this.line.phone = phone;
    this.line.domain = domainOf(creds.value.aor);
    this.scheduleCredentialRenewal(creds.value);
    window.addEventListener('online', this.onOnline);
    navigator.mediaDevices?.addEventListener?.('devicechange', this.onDeviceChange);
    this.stopFollowing = this.followGateway();
    void this.microphone.check();
    try {
      await phone.start({ credentials: creds.value, domain: this.line.domain, devices: this.microphone.devices, audioHost: this.ensureAudioHost() }, this.listenerFor(phone));
    } catch (err) {
      logFailure('starting the phone', err);
      usePhoneStore.setState({ registration: 'failed', registrationDetail: 'start_failed' });
      this.scheduleRecover();
    }
  }

  /**
   * Stops the phone (sign-out, another user, unmount). The renderer's phone state goes at once;
   * events the stopped phone still sends are ignored (listenerFor).
   */
  async stop(): Promise<void> {
    this.run++;
    window.removeEventListener('online', this.onOnline);
    navigator.mediaDevices?.removeEventListener?.('devicechange', this.onDeviceChange);
    this.stopFollowing?.();
    this.stopFollowing = null;
    if (this.credTimer) clearTimeout(this.credTimer);
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.credTimer = this.recoverTimer = null;
    this.recoverAttempt = 0;
    this.clearCalls();
    const p = this.line.phone;
    this.line.phone = null;
    usePhoneStore.setState({ ...initialPhoneState });
    if (p) await bestEffort('stopping the phone', p.stop());
  }

  /**
   * Network back, resume from sleep, or a dropped transport: reconnect and register again (calls
   * whose media was lost get it back then). `freshTransport`: a new socket even if the current one
   * looks open (network change, resume).
   */
  async recover(options: { freshTransport?: boolean } = {}): Promise<void> {
    const phone = this.line.phone;
    if (!phone) return;
    try {
      const renew = this.credentialsRefused;
      this.credentialsRefused = false;
      const r = await koe().sip.credentials(renew ? { renew: true } : {});
      if (r.ok && r.value) phone.updateCredentials(r.value);
      await phone.recover(options);
    } catch (err) {
      logFailure('recovering the phone', err);
      usePhoneStore.setState({ registration: 'failed', registrationDetail: 'recover_failed' });
      this.scheduleRecover();
    }
  }

  currentDevices(): AudioDevices {
    return this.microphone.devices;
  }

  private readonly micListeners = new Set<() => void>();
  /** After the phone put a newly chosen microphone on the calls (supervision's barge mixes it again). */
  onMicrophoneChanged(listener: () => void): () => void {
    this.micListeners.add(listener);
    return () => this.micListeners.delete(listener);
  }

  /** Also mid-call: the call stays up (the phone swaps the track and the sink, no renegotiation). */
  async setDevices(next: AudioDevices): Promise<void> {
    const micChanged = next.inputDeviceId !== this.microphone.devices.inputDeviceId;
    this.microphone.devices = next;
    this.ringer.moveTo(ringerSink(next));
    const saved = await koe().settings.setAudioDevices(next);
    if (!saved.ok) logFailure('keeping the chosen audio devices', saved.error.code);
    const phone = this.line.phone;
    if (!phone) return;
    try {
      await phone.setDevices(next);
    } catch (err) {
      this.calls.showFailure(err);
    }
    if (micChanged) for (const l of this.micListeners) l();
  }

  /** Is there an audio input? (reported to the gateway when it changes) */
  checkMicrophone(): Promise<boolean | null> {
    return this.microphone.check();
  }

  /** Supervision's barge: the sender of the live customer call (not a consultation leg), or null. */
  customerAudioSender(): RTCRtpSender | null {
    const call = usePhoneStore.getState().calls.find((c) => c.phase === 'established' && !c.consultFor);
    return call ? (this.line.phone?.audioSender?.(call.id) ?? null) : null;
  }

  /** The phone's events, applied while `phone` is the one this object drives (a stopped phone's late events are not). */
  private listenerFor(phone: SipPhone): SipPhoneListener {
    const live = () => this.line.phone === phone;
    return {
      registration: (state, detail) => {
        if (!live()) return;
        usePhoneStore.setState({ registration: state, registrationDetail: detail ?? null });
        if (state === 'registered') {
          this.recoverAttempt = 0;
          this.ringer.warm();
        }
        if (state === 'failed') {
          // 403 on REGISTER: Kamailio no longer accepts the credentials held (an access cut); the
          // next recovery asks main for fresh ones instead of retrying the refused ones.
          if (/^403\b/.test(detail ?? '')) this.credentialsRefused = true;
          this.scheduleRecover();
        }
      },
      incoming: (info) => {
        if (live()) void this.incoming.onIncoming(info);
      },
      phase: (id, phase, status) => {
        if (!live()) return;
        if (status !== undefined) this.book.factsOf(id).status = status;
        const call = usePhoneStore.getState().calls.find((c) => c.id === id);
        if (!call) this.book.early.set(id, phase);
        else this.calls.onPhase(call, phase);
        if (phase === 'established') this.quality.start(id);
        else if (phase === 'ended') this.quality.stop(id);
      },
      media: (id, state) => {
        if (!live()) return;
        updateCall(id, { mediaLost: state === 'lost' });
        if (state === 'lost') console.warn('[koe] a call lost its media path: restoring it');
      },
      held: (id, held) => {
        if (!live()) return;
        const call = usePhoneStore.getState().calls.find((c) => c.id === id);
        if (!call) return;
        updateCall(id, holdPatch(call, held, Date.now()));
        report({ kind: 'held', callId: call.sipCallId, held });
      },
      refusedCall: (_statusCode, sipCallId) => {
        // An inbound call the phone refused before it rang (420/488, sip-guard.ts): the gateway may
        // have offered it here (the operator is ringing in its model); the call ended without being
        // shown, and the model puts the operator back where they stood. A call the gateway never
        // offered is a stale fact to it, answered with the current view.
        if (live()) report({ kind: 'ended', callId: sipCallId, cause: 'failed' });
      },
    };
  }

  /** A call the gateway ends (operatorHangUp: no answer in time, sign-out) ends here. */
  private followGateway(): () => void {
    return koe().on('agent:hangUp', ({ callId }) => {
      const phone = this.line.phone;
      const call = liveCalls(usePhoneStore.getState().calls).find((c) => c.sipCallId === callId);
      if (!call || !phone) return;
      this.book.factsOf(call.id).endedByGateway = true;
      // a call still ringing: "nobody answered" (480) to the caller; an answered one: BYE
      const ringing = call.direction === 'inbound' && !call.answeredAt;
      void bestEffort('ending a call the gateway ended', ringing ? phone.reject(call.id, 480) : phone.hangup(call.id));
    });
  }

  private ensureAudioHost(): HTMLElement {
    if (this.audioHost && this.audioHost.isConnected) return this.audioHost;
    this.audioHost = document.createElement('div');
    this.audioHost.hidden = true;
    this.audioHost.dataset.testid = 'call-audio-host';
    document.body.appendChild(this.audioHost);
    return this.audioHost;
  }

  private scheduleCredentialRenewal(c: SipCredentials): void {
    if (this.credTimer) clearTimeout(this.credTimer);
    const ms = Math.max(5_000, c.expiresAt - Date.now() - CREDENTIAL_MARGIN_MS);
    this.credTimer = setTimeout(() => void this.renewCredentials(c), Math.min(ms, 2 ** 31 - 1));
  }

  private async renewCredentials(c: SipCredentials): Promise<void> {
    this.credTimer = null;
    const r = await bestEffort('renewing the SIP credentials', koe().sip.credentials({}));
    if (!this.line.phone) return; // stopped meanwhile
    if (r?.ok && r.value) {
      this.line.phone.updateCredentials(r.value);
      this.scheduleCredentialRenewal(r.value);
    } else {
      this.scheduleCredentialRenewal({ ...c, expiresAt: Date.now() + CREDENTIAL_MARGIN_MS + 15_000 });
    }
  }

  private scheduleRecover(): void {
    if (!this.line.phone || this.recoverTimer) return;
    // First retry at once (a dropped socket, the server still there), then 1 s, 2 s, then every
    // 2.4-3 s: a call waits for the phone to come back to restore its audio, so the phone must
    // notice within seconds that Kamailio or the network is back (issue 19: within 5 s). The
    // jitter spreads 2,000 phones returning to a restarted Kamailio (about 700 REGISTERs/s at most).
    const attempt = this.recoverAttempt++;
    const delay = attempt === 0 ? 100 : Math.min(RECOVER_MAX_MS, 1_000 * 2 ** (attempt - 1)) * (attempt >= 3 ? 0.8 + Math.random() * 0.2 : 1);
    this.recoverTimer = setTimeout(() => {
      this.recoverTimer = null;
      void this.recover();
    }, delay);
  }
}
