// SIP.js 0.21 behind the SipPhone interface: UserAgent + Registerer over WebSocket to
// Kamailio, Invitation/Inviter sessions through rtpengine. Facts this relies on are in
// /work/shared/telephony-notes.md: explicit iceServers (never SIP.js's public STUN default),
// bundlePolicy "balanced" and rtcpMuxPolicy "require" (rtpengine 10.5 offers no BUNDLE),
// and "fast ICE" (gathering declared complete ~10 ms after the first UDP candidate).
import {
  Invitation,
  Inviter,
  type Referral,
  Registerer,
  RegistererState,
  SessionState,
  SIPExtension,
  UserAgent,
  Web,
  type Session,
  type SessionDescriptionHandlerFactory,
} from 'sip.js';
import type { SipCredentials } from '../../../../shared/ipc/contract';
import type { StatsEntry } from '../../../../shared/rules/call-quality';
import { callerOf, JAPAN_TRUNK } from '../../../../shared/rules/numbering';
import { bestEffort, logFailure } from '../../log';
import { ConferenceMix, type MixDeps, type MixLeg, type MixTrack } from './conference-mix';
import { addOfferRollback, installRequestGuard } from './sip-guard';
import { PhoneFailure, UNAVAILABLE_STATUSES, type CallInfo, type PhoneConfig, type SipPhone, type SipPhoneListener } from './sip-phone';

const FAST_ICE_DELAY_MS = 10;
const REGISTER_EXPIRES_S = 300;
/** ICE "disconnected" this long (consent checks unanswered: the network changed or went) counts as lost. */
const MEDIA_DISCONNECTED_MS = 1_000;
/** ICE restarts tried for one loss before the call is ended (each after the transport is back). */
const MEDIA_RESTART_TRIES = 4;
const MEDIA_RETRY_MS = 2_000;
/** How long the phone watches a call's incoming audio after a dropped transport (Chromium caches its stats for 50 ms). */
const RECEIVING_PROBE_MS = 250;
/** How long recover() lets an old socket close before it connects a new one. */
const CLOSE_WAIT_MS = 300;

interface Leg {
  session: Session;
  info: CallInfo;
  audio: HTMLAudioElement | null;
  /** An outbound call's final non-2xx answer (486 busy, 480 unavailable, ...). */
  status: number | null;
  /** The media path is lost (ICE failed or disconnected): an ICE restart is wanted or under way. */
  mediaLost: boolean;
  /** A re-INVITE with an ICE restart is in flight. */
  restarting: boolean;
  /** Restarts tried since the loss. */
  restartTries: number;
  mediaTimer: ReturnType<typeof setTimeout> | null;
  /** The operator muted this call. */
  muted: boolean;
  /** This call is on hold (or its hold re-INVITE is on its way): nothing of ours reaches the party. */
  held: boolean;
}

type Devices = PhoneConfig['devices'];

/** The browser's audio graph for a local conference (conference-mix.ts). */
const BROWSER_MIX: MixDeps = {
  context: () => new AudioContext({ latencyHint: 'interactive' }),
  streamOf: (track: MixTrack) => new MediaStream([track as MediaStreamTrack]),
};

function header(invitation: Invitation, name: string): string | null {
  const v = invitation.request.getHeader(name);
  return v ? v.trim() : null;
}

/**
 * Who is calling, as the operator sees it: a number as the carrier sent it in any form
 * ("+819012345678;cpc=ordinary", "tel:", national, P-Asserted-Identity) in E.164; "" for a
 * withheld caller (the UI shows 非通知 / "Withheld number"); else the user part without its
 * parameters (a colleague's SIP user). The one rule of shared/rules/numbering.ts; display only,
 * Japan's numbering (the gateway decides the customer card by the trunk's configured rule).
 */
function remoteParty(invitation: Invitation): string {
  const uri = invitation.remoteIdentity.uri;
  const caller = callerOf(
    { from: invitation.request.getHeader('From') ?? uri.toString(), pai: header(invitation, 'P-Asserted-Identity') ?? undefined, privacy: header(invitation, 'Privacy') ?? undefined },
    JAPAN_TRUNK,
  );
  if (caller.e164) return caller.e164;
  if (caller.presentation === 'withheld') return '';
  return (uri.user ?? '').split(';')[0]!;
}

export class SipJsPhone implements SipPhone {
  private ua: UserAgent | null = null;
  private registerer: Registerer | null = null;
  private legs = new Map<string, Leg>();
  private listener: SipPhoneListener | null = null;
  private config: PhoneConfig | null = null;
  private devices: Devices = { inputDeviceId: null, outputDeviceId: null };
  private stopping = false;
  /** Registered on the current transport: in-dialog requests (ICE restarts) can go now. */
  private signalling = false;
  /** The transport dropped (or was replaced) since the last registration: the network may have changed. */
  private transportLost = false;
  /** recover() is replacing the transport itself: its disconnect is not a failure to retry. */
  private replacing = false;
  /** The three-way call this phone mixes (two legs), if any. */
  private conference: ConferenceMix | null = null;
  /** How a conference's audio graph is made (a unit test gives a fake one). */
  mixDeps: MixDeps = BROWSER_MIX;

  async start(config: PhoneConfig, listener: SipPhoneListener): Promise<void> {
    this.config = config;
    this.listener = listener;
    this.devices = config.devices;
    this.stopping = false;
    const { credentials } = config;
    const uri = UserAgent.makeURI(credentials.aor);
    if (!uri) throw new PhoneFailure('not_started');
    const ua = new UserAgent({
      uri,
      authorizationUsername: credentials.authorizationUsername,
      authorizationPassword: credentials.authorizationPassword,
      transportOptions: { server: credentials.wsServers[0]!, connectionTimeout: 5, keepAliveInterval: 25 },
      reconnectionAttempts: 0, // recovery is ours (see recover()): register again after every reconnect
      logBuiltinEnabled: false,
      logLevel: 'error',
      userAgentString: 'Koe',
      sipExtensionReplaces: SIPExtension.Supported,
      noAnswerTimeout: 120,
      sessionDescriptionHandlerFactory: this.sdhFactory(),
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: {
          iceServers: credentials.iceServers,
          bundlePolicy: 'balanced',
          rtcpMuxPolicy: 'require',
        },
        iceGatheringTimeout: 500,
      },
      delegate: {
        onInvite: (invitation) => this.onInvite(invitation),
        onDisconnect: (error) => {
          this.signalling = false;
          if (this.stopping) return;
          this.transportLost = true;
          if (this.replacing) return; // recover() reconnects at once
          // the transport dropped: no SIP status (the error's text stays out of the UI)
          listener.registration('failed', error ? 'transport' : undefined);
        },
      },
    });
    // RFC 3261 8.2.2.3 (Require -> 420) and RFC 3264 6 (an unusable offer -> 488), which
    // SIP.js 0.21 does not do, for every request the phone receives.
    installRequestGuard(ua, (message, refusal) => {
      console.warn(`[koe] SIP ${message.method} refused ${refusal.statusCode} ${refusal.reasonPhrase}`);
      if (message.method === 'INVITE' && !message.toTag) listener.refusedCall?.(refusal.statusCode, message.callId);
    });
    this.ua = ua;
    this.registerer = new Registerer(ua, { expires: REGISTER_EXPIRES_S });
    this.registerer.stateChange.addListener((s) => {
      if (s === RegistererState.Registered) listener.registration('registered');
      else if (s === RegistererState.Unregistered && !this.stopping) listener.registration('offline');
    });
    listener.registration('connecting');
    await ua.start();
    await this.register();
  }

  private async register(): Promise<void> {
    await this.registerer?.register({
      requestDelegate: {
        // After a reconnect the Registerer may still think it is Registered (a dropped transport
        // does not change its state), so no stateChange follows the new 200: report it here.
        onAccept: () => {
          this.signalling = true;
          this.listener?.registration('registered');
          const afterLoss = this.transportLost;
          this.transportLost = false;
          this.restoreMedia(afterLoss);
        },
        onReject: (response) => this.listener?.registration('failed', String(response.message.statusCode)),
      },
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const leg of this.legs.values()) await bestEffort('ending a call as the phone stops', () => this.end(leg));
    const { registerer, ua } = this;
    if (registerer) await bestEffort('unregistering as the phone stops', () => registerer.unregister());
    if (ua) await bestEffort('stopping the SIP user agent', () => ua.stop());
    this.ua = null;
    this.registerer = null;
    this.listener?.registration('offline');
  }

  async recover(options: { freshTransport?: boolean } = {}): Promise<void> {
    const ua = this.ua;
    if (!ua || this.stopping) return;
    this.listener?.registration('connecting');
    this.signalling = false;
    // After a network change or a sleep, a socket that looks open may be dead (nothing tells
    // TCP its path is gone): start a new one rather than trust it.
    if (options.freshTransport) this.transportLost = true;
    this.replacing = true;
    try {
      if (options.freshTransport && ua.isConnected()) {
        // A stalled socket never finishes the close handshake: give the close a moment, then
        // connect anew (which aborts the close: SIP.js rejects it "Disconnect aborted").
        const closing = ua.transport.disconnect().then(
          () => undefined,
          (err: unknown) => {
            if (!/Disconnect aborted/.test(String(err))) logFailure('closing the old SIP socket', err);
          },
        );
        await Promise.race([closing, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS))]);
      }
      if (!ua.isConnected()) await ua.reconnect();
    } finally {
      this.replacing = false;
    }
    await this.register();
  }

  /**
   * Calls whose media path was lost get it back here: once the phone is registered again (the
   * transport is back and Kamailio knows this connection), each established call whose ICE is not
   * connected sends a re-INVITE with an ICE restart (new ICE credentials and candidates), which
   * rtpengine answers from the same call. The customer hears a gap, not a hang-up.
   * `afterLoss`: the transport had dropped: the network may have changed under calls whose ICE
   * does not know it yet (consent checks take seconds to fail), so every established call whose
   * audio no longer arrives restarts its ICE now rather than after the silence is noticed.
   */
  private restoreMedia(afterLoss: boolean): void {
    for (const leg of this.legs.values()) {
      const state = this.iceState(leg);
      if (leg.mediaLost || state === 'failed' || state === 'disconnected') this.mediaLost(leg);
      else if (afterLoss) void this.restartIfSilent(leg);
    }
  }

  /**
   * After a dropped transport every call re-INVITEs: the far end must learn the new connection
   * (our Contact's alias names the old one: without this target refresh the customer's BYE goes
   * to a dead socket). A call whose audio still arrives (Kamailio restarted, the socket alone was
   * cut) keeps its ICE: a restart there would only risk a gap. One whose audio stopped (the
   * network changed under it) restarts its ICE in the same re-INVITE.
   */
  private async restartIfSilent(leg: Leg): Promise<void> {
    const before = await this.packetsReceived(leg);
    await new Promise((r) => setTimeout(r, RECEIVING_PROBE_MS));
    const after = await this.packetsReceived(leg);
    const receiving = before !== null && after !== null && after > before;
    this.restartIce(leg, !receiving);
  }

  /** Audio RTP packets this call has received so far (null: no connection or no stats). */
  private async packetsReceived(leg: Leg): Promise<number | null> {
    const pc = (leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection;
    if (!pc) return null;
    try {
      let packets = 0;
      (await pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
      });
      return packets;
    } catch (err) {
      logFailure("reading a call's media statistics", err);
      return null;
    }
  }

  private iceState(leg: Leg): RTCIceConnectionState | null {
    return (leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection?.iceConnectionState ?? null;
  }

  /** Watches a call's ICE: failed, or disconnected for MEDIA_DISCONNECTED_MS, is a lost media path. */
  private watchMedia(leg: Leg): void {
    const pc = (leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection;
    if (!pc) return;
    pc.addEventListener('iceconnectionstatechange', () => {
      if (leg.restarting) return; // the restart's own outcome decides (mediaLost's done)
      const state = pc.iceConnectionState;
      if (state === 'failed' || state === 'connected' || state === 'completed') this.checkMedia(leg);
      else if (state === 'disconnected' && !leg.mediaTimer) this.checkMediaSoon(leg, MEDIA_DISCONNECTED_MS);
    });
  }

  private checkMediaSoon(leg: Leg, ms: number): void {
    if (leg.mediaTimer) clearTimeout(leg.mediaTimer);
    leg.mediaTimer = setTimeout(() => {
      leg.mediaTimer = null;
      this.checkMedia(leg);
    }, ms);
  }

  /** Connected: the media is back (if it was lost). Anything else: lost. */
  private checkMedia(leg: Leg): void {
    if (leg.restarting || leg.session.state !== SessionState.Established) return;
    const state = this.iceState(leg);
    if (state === 'connected' || state === 'completed') {
      if (leg.mediaTimer) clearTimeout(leg.mediaTimer);
      leg.mediaTimer = null;
      leg.restartTries = 0;
      if (leg.mediaLost) {
        leg.mediaLost = false;
        this.listener?.media?.(leg.info.id, 'back');
      }
    } else if (state !== null) this.mediaLost(leg);
  }

  /**
   * The media path of `leg` is lost: an ICE restart now if the phone can signal (transport up),
   * else when it is registered again (restoreMedia). A dialog Kamailio or the far end no longer
   * knows (481), or MEDIA_RESTART_TRIES restarts that did not bring ICE back, end the call
   * cleanly (BYE) rather than leave the customer in silence.
   */
  private mediaLost(leg: Leg): void {
    if (leg.session.state !== SessionState.Established || this.stopping) return;
    if (!leg.mediaLost) {
      leg.mediaLost = true;
      this.listener?.media?.(leg.info.id, 'lost');
    }
    this.restartIce(leg);
  }

  /** A re-INVITE for `leg` with an ICE restart (or, `iceRestart` false, a plain target refresh), when the phone can signal; its outcome is checked (checkMedia). */
  private restartIce(leg: Leg, iceRestart = true): void {
    if (leg.session.state !== SessionState.Established || this.stopping) return;
    if (leg.restarting || !this.signalling || !this.ua?.isConnected()) return;
    if (leg.restartTries >= MEDIA_RESTART_TRIES) {
      console.warn(`[koe] media of a call not restored after ${leg.restartTries} ICE restarts: ending it`);
      void bestEffort('ending a call whose media could not be restored', () => this.end(leg));
      return;
    }
    leg.restartTries++;
    leg.restarting = true;
    const session = leg.session;
    const before = session.sessionDescriptionHandlerOptionsReInvite as Web.SessionDescriptionHandlerOptions;
    const done = (gone: boolean) => {
      leg.restarting = false;
      // the next re-INVITE (hold) is a plain one again
      const plain: Web.SessionDescriptionHandlerOptions = { ...before, offerOptions: { ...before.offerOptions, iceRestart: false } };
      session.sessionDescriptionHandlerOptionsReInvite = plain;
      if (gone) {
        console.warn('[koe] ICE restart refused 481: the dialog is gone; ending the call');
        void bestEffort('ending a call whose dialog is gone', () => this.end(leg));
      } else {
        // connected by now: back; still checking: looked at again (another try if not connected)
        const state = this.iceState(leg);
        if (state === 'connected' || state === 'completed') this.checkMedia(leg);
        else this.checkMediaSoon(leg, MEDIA_RETRY_MS);
      }
    };
    const restart: Web.SessionDescriptionHandlerOptions = { ...before, offerOptions: { ...before.offerOptions, iceRestart } };
    void session
      .invite({
        sessionDescriptionHandlerOptions: restart,
        requestDelegate: {
          onAccept: () => done(false),
          onReject: (r) => {
            const code = r.message.statusCode ?? 500;
            console.warn(`[koe] ICE restart re-INVITE refused ${code}`);
            done(code === 481);
          },
        },
      })
      .catch((err: unknown) => {
        logFailure('sending a re-INVITE with an ICE restart', err);
        done(false);
      });
  }

  updateCredentials(credentials: SipCredentials): void {
    if (!this.ua) return;
    this.ua.configuration.authorizationUsername = credentials.authorizationUsername;
    this.ua.configuration.authorizationPassword = credentials.authorizationPassword;
  }

  /** Default SDH with our microphone choice and "fast ICE". */
  private sdhFactory(): SessionDescriptionHandlerFactory {
    const media = (constraints: MediaStreamConstraints) => {
      const audio = this.devices.inputDeviceId ? { deviceId: { exact: this.devices.inputDeviceId } } : true;
      return navigator.mediaDevices.getUserMedia({ audio: constraints.audio === false ? false : audio, video: false });
    };
    const base = Web.defaultSessionDescriptionHandlerFactory(media);
    return (session, options) => {
      // a refused re-INVITE rolls the connection back (SIP.js 0.21's Web SDH cannot)
      const sdh = addOfferRollback(base(session, options) as Web.SessionDescriptionHandler);
      let timer: ReturnType<typeof setTimeout> | null = null;
      sdh.peerConnectionDelegate = {
        onicecandidate: (event: RTCPeerConnectionIceEvent) => {
          if (timer || !event.candidate || !/ udp /i.test(event.candidate.candidate)) return;
          timer = setTimeout(() => {
            timer = null;
            sdh.iceGatheringComplete();
          }, FAST_ICE_DELAY_MS);
        },
        onicegatheringstatechange: () => {
          if (sdh.peerConnection?.iceGatheringState === 'gathering') timer = null;
        },
      };
      return sdh;
    };
  }

  private onInvite(invitation: Invitation): void {
    const receivedAt = performance.now();
    const from = remoteParty(invitation);
    const info: CallInfo = {
      id: invitation.id,
      sipCallId: invitation.request.callId,
      direction: 'inbound',
      remote: from,
      campaignId: header(invitation, 'X-Koe-Campaign'),
      dialledNumber: header(invitation, 'X-Koe-DID'),
      receivedAt,
    };
    const replacee = invitation.replacee;
    if (replacee) info.replaces = replacee.id;
    this.track(invitation, info);
    this.listener?.incoming(info);
    // Attended transfer to us: the INVITE replaces our consultation call, answer it at once
    // (SIP.js then ends the replaced session with a BYE).
    if (replacee) void bestEffort('answering the call that replaces ours (attended transfer to us)', () => invitation.accept());
  }

  private track(session: Session, info: CallInfo): Leg {
    const leg: Leg = { session, info, audio: null, status: null, mediaLost: false, restarting: false, restartTries: 0, mediaTimer: null, muted: false, held: false };
    this.legs.set(info.id, leg);
    session.delegate = { ...session.delegate, onRefer: (referral) => this.onRefer(leg, referral) };
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) {
        this.attachAudio(leg);
        this.watchMedia(leg);
        this.listener?.phase(info.id, 'established');
      } else if (state === SessionState.Terminated) {
        if (leg.mediaTimer) clearTimeout(leg.mediaTimer);
        leg.mediaTimer = null;
        leg.audio?.remove();
        leg.audio = null;
        this.legs.delete(info.id);
        this.leaveConference(info.id);
        // SIP.js ends an Inviter before it calls the request's onReject (which records the
        // status): report the end once that has run
        queueMicrotask(() => this.listener?.phase(info.id, 'ended', leg.status ?? undefined));
      }
    });
    return leg;
  }

  /**
   * We are transferred (the other party is an operator's browser too: SIP.js's REFER lands
   * here): accept, call the Refer-To target (with its Replaces, if any) and let the new call take
   * this one's place; the transferor ends this leg.
   */
  private onRefer(leg: Leg, referral: Referral): void {
    void referral
      .accept()
      .then(() => {
        const inviter = referral.makeInviter({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
        const info: CallInfo = {
          id: inviter.id,
          sipCallId: inviter.request.callId,
          direction: 'outbound',
          remote: referral.referTo.uri.user ?? '',
          campaignId: leg.info.campaignId,
          dialledNumber: leg.info.dialledNumber,
          receivedAt: performance.now(),
          replaces: leg.info.id,
        };
        this.track(inviter, info);
        // Once the new call is up, the old one is over even if the transferor's BYE never came.
        inviter.stateChange.addListener((state) => {
          if (state === SessionState.Established && leg.session.state === SessionState.Established) void bestEffort('ending the transferred call', () => leg.session.bye());
        });
        this.listener?.incoming(info);
        return inviter.invite();
      })
      .catch((err: unknown) => logFailure('following a REFER (we are transferred)', err));
  }

  private attachAudio(leg: Leg): void {
    const sdh = leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    const pc = sdh?.peerConnection;
    if (!pc || !this.config) return;
    const stream = new MediaStream();
    for (const r of pc.getReceivers()) if (r.track?.kind === 'audio') stream.addTrack(r.track);
    const audio = leg.audio ?? document.createElement('audio');
    audio.autoplay = true;
    audio.dataset.callId = leg.info.id;
    audio.dataset.testid = 'call-audio';
    audio.srcObject = stream;
    if (!leg.audio) this.config.audioHost.appendChild(audio);
    leg.audio = audio;
    void this.applySink(audio);
    // autoplay refused (no user gesture yet): logged; the call's audio starts with the next click
    void bestEffort("playing the call's audio", () => audio.play());
  }

  private async applySink(audio: HTMLAudioElement): Promise<void> {
    // '' is the system default: a call moved back from a headset to "System default" goes there
    const id = this.devices.outputDeviceId ?? '';
    const sinkable = audio as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void>; sinkId?: string };
    if (sinkable.setSinkId && (sinkable.sinkId ?? '') !== id) await bestEffort("playing the call's audio on the chosen speaker", () => sinkable.setSinkId(id));
  }

  private leg(id: string): Leg {
    const leg = this.legs.get(id);
    if (!leg) throw new PhoneFailure('no_such_call');
    return leg;
  }

  async answer(id: string): Promise<void> {
    const { session } = this.leg(id);
    if (!(session instanceof Invitation)) throw new PhoneFailure('no_such_call');
    await session.accept();
  }

  async reject(id: string, code: 480 | 486 | 603): Promise<void> {
    const { session } = this.leg(id);
    if (!(session instanceof Invitation)) throw new PhoneFailure('no_such_call');
    if (session.state === SessionState.Initial || session.state === SessionState.Establishing) {
      await session.reject({ statusCode: code });
    }
  }

  async hangup(id: string): Promise<void> {
    await this.end(this.leg(id));
  }

  private async end(leg: Leg): Promise<void> {
    const s = leg.session;
    if (s.state === SessionState.Established) await s.bye();
    else if (s instanceof Inviter && (s.state === SessionState.Initial || s.state === SessionState.Establishing)) await s.cancel();
    else if (s instanceof Invitation && (s.state === SessionState.Initial || s.state === SessionState.Establishing)) await s.reject({ statusCode: 603 });
  }

  async dial(target: string, beforeInvite: (call: CallInfo) => Promise<boolean>): Promise<CallInfo | null> {
    if (!this.ua) throw new PhoneFailure('not_started');
    const uri = UserAgent.makeURI(target);
    if (!uri) throw new PhoneFailure('invalid_number');
    const inviter = new Inviter(this.ua, uri, { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
    const info: CallInfo = {
      id: inviter.id,
      sipCallId: inviter.request.callId,
      direction: 'outbound',
      remote: uri.user ?? target,
      campaignId: null,
      dialledNumber: null,
      receivedAt: performance.now(),
    };
    // The gateway hears of the call (its Call-ID) first; refused: nothing is sent.
    if (!(await beforeInvite(info))) {
      await bestEffort('disposing an unsent call', () => inviter.dispose());
      return null;
    }
    const leg = this.track(inviter, info);
    this.listener?.phase(info.id, 'dialing');
    await inviter.invite({ requestDelegate: { onReject: (r) => void (leg.status = r.message.statusCode ?? 500) } });
    return info;
  }

  /**
   * Hold is a re-INVITE with our side sendonly, so the held party would still hear our
   * microphone (SIP.js's SessionManager disables the sender tracks on hold; this phone uses the
   * lower-level API and must do it itself): the microphone is off on that call from before the
   * hold is asked until the call is taken off hold and the far end has accepted, and comes back
   * only if the call is not muted. A refused hold puts things back as they were.
   */
  async hold(id: string, on: boolean): Promise<void> {
    const leg = this.leg(id);
    const { session } = leg;
    const wasHeld = leg.held;
    if (on) {
      leg.held = true;
      this.applySending(leg);
    }
    const options = session.sessionDescriptionHandlerOptionsReInvite as Web.SessionDescriptionHandlerOptions;
    options.hold = on;
    session.sessionDescriptionHandlerOptionsReInvite = options;
    try {
      await new Promise<void>((resolve, reject) => {
        void session
          .invite({
            requestDelegate: {
              onAccept: () => {
                const sdh = session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
                sdh?.enableReceiverTracks(!on);
                resolve();
              },
              onReject: (r) => reject(new PhoneFailure('hold_failed', r.message.statusCode)),
            },
          })
          .catch(reject);
      });
    } catch (err) {
      leg.held = wasHeld;
      this.applySending(leg);
      throw err;
    }
    leg.held = on;
    this.applySending(leg);
    this.listener?.held?.(id, on);
  }

  /** What this call sends: our audio unless it is muted or on hold (a three-way call's mute is the mix's). */
  private applySending(leg: Leg): void {
    const sdh = leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    const send = !leg.muted && !leg.held;
    for (const sender of sdh?.peerConnection?.getSenders() ?? []) if (sender.track) sender.track.enabled = send;
  }

  audioSender(id: string): RTCRtpSender | null {
    const sdh = this.legs.get(id)?.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    return sdh?.peerConnection?.getSenders().find((s) => s.track?.kind === 'audio') ?? null;
  }

  async stats(id: string): Promise<StatsEntry[] | null> {
    const sdh = this.legs.get(id)?.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    const pc = sdh?.peerConnection;
    if (!pc) return null;
    const entries: StatsEntry[] = [];
    (await pc.getStats()).forEach((r: StatsEntry) => entries.push(r));
    return entries;
  }

  /**
   * Joins two established calls in a three-way call mixed here (conference-mix.ts): each leg sends
   * the microphone plus the other leg's remote audio. Neither call may be on hold (the caller
   * takes the customer off hold first). A failure leaves both calls as they were.
   */
  async joinConference(a: string, b: string): Promise<void> {
    if (this.conference) throw new PhoneFailure('conference_failed');
    const legs = [this.leg(a), this.leg(b)].map((leg): MixLeg => {
      const pc = (leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined)?.peerConnection;
      const sender = pc?.getSenders().find((s) => s.track?.kind === 'audio');
      if (leg.session.state !== SessionState.Established || !pc || !sender) throw new PhoneFailure('conference_failed');
      const remote = pc.getReceivers().find((r) => r.track?.kind === 'audio')?.track ?? null;
      return { id: leg.info.id, sender, remote };
    }) as [MixLeg, MixLeg];
    try {
      this.conference = await ConferenceMix.start(legs, this.mixDeps);
    } catch (err) {
      logFailure('mixing a three-way call', err);
      throw new PhoneFailure('conference_failed');
    }
  }

  /** A conference leg ended: the other call goes back to the plain microphone. */
  private leaveConference(id: string): void {
    const c = this.conference;
    if (!c?.has(id)) return;
    this.conference = null;
    void bestEffort('putting the microphone back on the call left after a three-way call', () => c.end(id));
  }

  mute(id: string, on: boolean): void {
    // in a three-way call the operator's mute is the microphone feeding both mixes
    if (this.conference?.has(id)) {
      // both calls are muted together (the flags follow, for the call left after the conference)
      for (const other of this.conference.ids) {
        const l = this.legs.get(other);
        if (l) l.muted = on;
      }
      return this.conference.setMuted(on);
    }
    const leg = this.leg(id);
    leg.muted = on;
    this.applySending(leg);
  }

  async dtmf(id: string, tone: string): Promise<'rtp' | 'info'> {
    if (!/^[0-9A-D#*]$/.test(tone)) throw new PhoneFailure('dtmf_failed');
    const { session } = this.leg(id);
    const sdh = session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    if (sdh?.sendDtmf(tone, { duration: 160, interToneGap: 70 })) return 'rtp';
    await session.info({
      requestOptions: {
        body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content: `Signal=${tone}\r\nDuration=160` },
      },
    });
    return 'info';
  }

  async blindTransfer(id: string, target: string): Promise<void> {
    const { session } = this.leg(id);
    const uri = UserAgent.makeURI(target);
    if (!uri) throw new PhoneFailure('invalid_number');
    // Until the target answers: a target that cannot take the call (offline: 480) leaves the customer with us.
    await this.referAndWait(session, uri, true, 30_000);
  }

  async attendedTransfer(id: string, consultId: string): Promise<void> {
    const { session } = this.leg(id);
    const consult = this.leg(consultId).session;
    // The consultation call is ended by the target when the transferee's INVITE replaces it.
    await this.referAndWait(session, consult, true);
  }

  /**
   * REFER, then end our leg once the transferee's NOTIFY reports the new call's final answer
   * (or the transferee ended our leg itself), at most `waitMs` after the 202. A refused REFER or
   * a failed new call leaves our leg as it was (PhoneFailure with the SIP status).
   */
  private async referAndWait(session: Session, referTo: Parameters<Session['refer']>[0], untilFinal = false, waitMs = 8_000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      let done = false;
      const finish = (err: PhoneFailure | null) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        session.stateChange.removeListener(onState);
        if (err) reject(err);
        else resolve();
      };
      const onState = (state: SessionState) => {
        if (state === SessionState.Terminated) finish(null);
      };
      session.stateChange.addListener(onState);
      void session
        .refer(referTo, {
          requestDelegate: {
            onAccept: () => {
              if (!untilFinal) return finish(null);
              timer = setTimeout(() => finish(null), waitMs);
            },
            onReject: (r) => {
              const code = r.message.statusCode ?? 500;
              finish(new PhoneFailure(UNAVAILABLE_STATUSES.has(code) ? 'transfer_unavailable' : 'transfer_refused', code));
            },
          },
          onNotify: (notification) => {
            void bestEffort('accepting a transfer NOTIFY', () => notification.accept());
            const code = Number(/SIP\/2\.0 (\d{3})/.exec(notification.request.body ?? '')?.[1] ?? 0);
            if (untilFinal && code >= 200) {
              if (code < 300) finish(null);
              else finish(new PhoneFailure(UNAVAILABLE_STATUSES.has(code) || code === 486 || code === 603 ? 'transfer_unavailable' : 'transfer_failed', code));
            }
          },
        })
        .catch((err: unknown) => {
          if (!(err instanceof PhoneFailure)) logFailure('sending a REFER', err);
          finish(err instanceof PhoneFailure ? err : new PhoneFailure('transfer_failed'));
        });
    });
    if (session.state === SessionState.Established) await bestEffort('ending the call after its transfer', () => session.bye());
  }

  /**
   * A device change, also mid-call, never renegotiates: the speaker is the audio element's sink,
   * the microphone the sender's track (replaceTrack, no re-INVITE). The new track keeps the
   * call's mute; the old one is stopped (it would keep the headset's microphone open). A
   * microphone that cannot be opened leaves the call on the one it had (the error is shown).
   */
  async setDevices(devices: Devices): Promise<void> {
    const changedInput = devices.inputDeviceId !== this.devices.inputDeviceId;
    const changedOutput = devices.outputDeviceId !== this.devices.outputDeviceId;
    this.devices = devices;
    let failure: unknown = null;
    const conference = this.conference;
    if (changedInput && conference) {
      // a three-way call: the new microphone replaces the mic source in both mixes
      try {
        const track = (await navigator.mediaDevices.getUserMedia({ audio: devices.inputDeviceId ? { deviceId: { exact: devices.inputDeviceId } } : true, video: false })).getAudioTracks()[0];
        if (track) conference.replaceMic(track);
      } catch (err) {
        failure = err;
      }
    }
    for (const leg of this.legs.values()) {
      if (leg.audio && changedOutput) await this.applySink(leg.audio);
      const sdh = leg.session.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
      const pc = sdh?.peerConnection;
      if (!changedInput || !pc || conference?.has(leg.info.id)) continue;
      const senders = pc.getSenders().filter((s) => s.track?.kind === 'audio');
      if (senders.length === 0) continue;
      let track: MediaStreamTrack | undefined;
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: devices.inputDeviceId ? { deviceId: { exact: devices.inputDeviceId } } : true,
          video: false,
        });
        track = stream.getAudioTracks()[0];
      } catch (err) {
        failure = err;
        continue;
      }
      if (!track) continue;
      for (const sender of senders) {
        const old = sender.track;
        track.enabled = !leg.muted && !leg.held; // the call's mute and hold carry over
        await sender.replaceTrack(track);
        old?.stop();
      }
    }
    if (failure) throw failure;
  }
}
