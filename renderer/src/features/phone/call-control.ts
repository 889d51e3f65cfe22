// The operator's actions on calls (answer, decline, dial, hold, transfer ...) and what follows a
// call's phase (the facts the gateway hears, the call record, the error the operator is shown).
// Every failure becomes a code (PhoneErrorCode) the UI translates: no error text reaches the operator.
import type { IntentOutcome } from '../../../../shared/ipc/contract';
import { toE164 } from '../../../../shared/rules/phone';
import { bestEffort, logFailure } from '../../log';
import { useAgentStore } from './agent-store';
import { endCause, newCall, refusalError, report, type CallBook, type CallerViews, type PhoneLine } from './calls';
import type { IncomingCalls } from './incoming';
import type { Microphone } from './microphone';
import { inConference, liveCalls, updateCall, usePhoneStore, type PhoneCall } from './phone-store';
import type { Ringer } from './ringer';
import { PhoneFailure, UNAVAILABLE_STATUSES, type CallPhase, type PhoneErrorCode, type SipPhone } from './sip-phone';

const callById = (id: string) => usePhoneStore.getState().calls.find((c) => c.id === id);

/** The phone's error, shown in the operator's language (PhonePanel). */
function showError(code: PhoneErrorCode | null): void {
  usePhoneStore.setState({ error: code });
}

/** What the operator typed -> a SIP URI: a phone number (E.164, Japan by default) or a SIP user. */
export function dialTarget(text: string, domain: string): string | null {
  const trimmed = text.normalize('NFKC').trim();
  const e164 = toE164(trimmed);
  if (e164) return `sip:${e164}@${domain}`;
  if (/^[a-z][a-z0-9._-]{0,63}$/i.test(trimmed)) return `sip:${trimmed}@${domain}`;
  return null;
}

export class CallControl {
  constructor(
    private readonly line: PhoneLine,
    private readonly book: CallBook,
    private readonly ringer: Ringer,
    private readonly microphone: Microphone,
    private readonly incoming: IncomingCalls,
    private readonly caller: () => CallerViews,
  ) {}

  private need(): SipPhone {
    if (!this.line.phone) throw new PhoneFailure('not_started');
    return this.line.phone;
  }

  private async guard(fn: () => Promise<unknown> | unknown): Promise<boolean> {
    // the last error goes when the operator acts again; one the call's events set meanwhile stays
    showError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      showError(this.microphone.errorCode(err));
      return false;
    }
  }

  /** A phase the phone reported for a call the store holds. */
  onPhase(call: PhoneCall, phase: CallPhase): void {
    const f = this.book.factsOf(call.id);
    if (phase === 'established') {
      const answeredAt = Date.now();
      updateCall(call.id, { phase, answeredAt });
      this.ringer.stop(call.id);
      report({ kind: 'answered', callId: call.sipCallId });
      if (call.direction === 'inbound') this.caller().recordCall(call.sipCallId, { answeredAt: new Date(answeredAt).toISOString() });
    } else if (phase === 'ended') {
      const endedAt = Date.now();
      updateCall(call.id, { phase, endedAt });
      this.ringer.stop(call.id);
      this.book.forget(call.id);
      // a three-way call is over when either leg ends: the other is a plain call again (the phone
      // put the microphone back on it)
      if (inConference(usePhoneStore.getState().conference, call.id)) usePhoneStore.setState({ conference: null });
      if (this.book.replaced.delete(call.id)) {
        // an attended transfer to us took its place
        report({ kind: 'ended', callId: call.sipCallId, cause: 'completed' });
        return;
      }
      if (f.transferring) report({ kind: 'transfer', callId: call.sipCallId, phase: 'completed' });
      else if (!f.endedByGateway) report({ kind: 'ended', callId: call.sipCallId, cause: endCause(call, f) });
      if (call.direction === 'inbound' && call.answeredAt) this.caller().recordCall(call.sipCallId, { endedAt: new Date(endedAt).toISOString() });
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
      if (call.consultFor) void this.resumeAfterConsult(call.consultFor);
    } else {
      updateCall(call.id, { phase });
    }
  }

  /** The consultation ended without a transfer: the customer we put on hold for it is taken off hold. */
  private async resumeAfterConsult(primaryId: string): Promise<void> {
    const f = this.book.peek(primaryId);
    const primary = liveCalls(usePhoneStore.getState().calls).find((c) => c.id === primaryId);
    if (!f?.heldForConsult || !primary || f.transferring) return;
    f.heldForConsult = false;
    const phone = this.line.phone;
    if (!primary.held || !phone) return;
    try {
      await phone.hold(primaryId, false);
    } catch (err) {
      logFailure('taking the customer off hold after a consultation', err);
      showError('hold_failed');
    }
  }

  /** A transfer of `id`: the gateway hears it start, and fail (the customer stays with us) or complete. */
  private async transfer(id: string, run: () => Promise<void>): Promise<boolean> {
    const call = callById(id);
    if (!call) return this.guard(() => this.need());
    const f = this.book.factsOf(id);
    f.transferring = true;
    report({ kind: 'transfer', callId: call.sipCallId, phase: 'started' });
    const ok = await this.guard(run);
    if (!ok) {
      f.transferring = false;
      // still ours: the gateway puts the call back where it was, the operator is told (PhonePanel)
      if (callById(id)?.phase !== 'ended') report({ kind: 'transfer', callId: call.sipCallId, phase: 'failed' });
      if (f.heldForConsult) await this.resumeAfterConsult(id);
    }
    return ok;
  }

  /** Answers only with a microphone (checked first: a failed answer would lose the call). */
  answer(id: string): Promise<boolean> {
    return this.guard(async () => {
      await this.microphone.probe();
      await this.need().answer(id);
    });
  }

  reject(id: string, code: 486 | 603 = 603): Promise<boolean> {
    return this.guard(() => {
      if (code === 603) this.book.factsOf(id).declined = true;
      return this.need().reject(id, code);
    });
  }

  hangup(id: string): Promise<boolean> {
    return this.guard(() => this.need().hangup(id));
  }

  /** Hangs up every live call (sign-out during a call, on purpose). */
  async hangupAll(): Promise<void> {
    const p = this.line.phone;
    if (!p) return;
    for (const c of liveCalls(usePhoneStore.getState().calls)) await bestEffort('hanging up before sign-out', p.hangup(c.id));
  }

  /**
   * Dials: the gateway hears of the call first (a `dial` intent with its SIP Call-ID); only
   * when it accepts is the INVITE sent. A consultation puts the customer on hold first (and
   * back if the consultation does not happen). `campaignId`: the campaign a customer call is for
   * (the gateway checks it is the operator's; Kamailio presents its caller ID).
   */
  async dial(text: string, consultFor: string | null = null, campaignId: string | null = null): Promise<boolean> {
    const target = dialTarget(text, this.line.domain);
    if (!target) {
      showError('invalid_number');
      return false;
    }
    const primary = consultFor ? callById(consultFor) : undefined;
    const ok = await this.guard(async () => {
      const p = this.need();
      await this.microphone.probe();
      if (consultFor && primary && !primary.held) {
        await p.hold(consultFor, true);
        this.book.factsOf(consultFor).heldForConsult = true;
      }
      let refusal: IntentOutcome | null = null;
      const number = target.replace(/^sip:/, '').split('@')[0]!;
      const info = await p.dial(target, async (call) => {
        const r = await useAgentStore.getState().send({
          kind: 'dial', callId: call.sipCallId, number, ...(primary ? { consultFor: primary.sipCallId } : {}), ...(campaignId && !consultFor ? { campaignId } : {}),
        });
        if (r.outcome === 'accepted') return true;
        refusal = r;
        return false;
      });
      if (!info) {
        const r = refusal as IntentOutcome | null;
        throw new PhoneFailure(r?.outcome === 'refused' ? refusalError(r.refusal) : 'refused');
      }
      // Redial: the last number this operator called out to (not a consultation), in memory only
      if (!consultFor) usePhoneStore.setState({ lastDialled: { number, campaignId } });
      const early = this.book.early.get(info.id);
      this.book.early.delete(info.id);
      usePhoneStore.setState((s) => ({ calls: [...s.calls.filter((c) => c.phase !== 'ended'), newCall(info, early ?? 'dialing', consultFor)] }));
      // a customer call (not a consultation): the card for the dialled number, within the
      // operator's campaigns (the gateway recorded the call at the dial intent)
      if (!consultFor) this.incoming.popLater(info);
      if (early === 'ended') this.onPhase(callById(info.id)!, 'ended');
    });
    if (!ok && consultFor) await this.resumeAfterConsult(consultFor);
    return ok;
  }

  hold(id: string, on: boolean): Promise<boolean> {
    return this.guard(async () => {
      await this.need().hold(id, on);
      if (!on) {
        const f = this.book.peek(id);
        if (f) f.heldForConsult = false;
      }
    });
  }

  mute(id: string, on: boolean): Promise<boolean> {
    return this.guard(() => {
      this.need().mute(id, on);
      // in a three-way call the operator's microphone is muted in both mixes: both calls show it
      const conf = usePhoneStore.getState().conference;
      if (conf && inConference(conf, id)) for (const c of [conf.primaryId, conf.consultId]) updateCall(c, { muted: on });
      else updateCall(id, { muted: on });
    });
  }

  /**
   * Joins the customer's call and its established consultation in a three-way call mixed in this
   * softphone: the customer is taken off hold, then the phone mixes (each party hears the operator
   * and the other party). A failure leaves both calls as they were (the customer back on hold)
   * and says so. The operator's mute carries over from the consultation call (whose microphone
   * feeds both mixes).
   */
  join(primaryId: string, consultId: string): Promise<boolean> {
    return this.guard(async () => {
      const p = this.need();
      const primary = callById(primaryId);
      const consult = callById(consultId);
      if (!primary || !consult || consult.consultFor !== primaryId || primary.phase !== 'established' || consult.phase !== 'established' || usePhoneStore.getState().conference) {
        throw new PhoneFailure('conference_failed');
      }
      const f = this.book.factsOf(primaryId);
      const heldForConsult = f.heldForConsult ?? false;
      const unheld: string[] = [];
      try {
        for (const c of [primary, consult]) {
          if (!c.held) continue;
          await p.hold(c.id, false);
          unheld.push(c.id);
        }
        f.heldForConsult = false;
        // the consultation's microphone feeds both mixes (the customer call's sender may carry a lead's barge mix)
        await p.joinConference(consultId, primaryId);
      } catch (err) {
        // as they were: whoever was on hold goes back on hold
        for (const id of unheld) await bestEffort('putting a call back on hold after a failed three-way call', () => p.hold(id, true));
        f.heldForConsult = heldForConsult;
        logFailure('joining a three-way call', err);
        throw new PhoneFailure('conference_failed');
      }
      usePhoneStore.setState({ conference: { primaryId, consultId } });
      updateCall(primaryId, { muted: consult.muted });
    });
  }

  /** Hangs up both calls of the three-way call (the operator's "hang up all"). */
  async hangupConference(): Promise<boolean> {
    const conf = usePhoneStore.getState().conference;
    if (!conf) return this.guard(() => Promise.reject(new PhoneFailure('no_such_call')));
    return this.guard(async () => {
      const p = this.need();
      const results = await Promise.allSettled([p.hangup(conf.consultId), p.hangup(conf.primaryId)]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  dtmf(id: string, tone: string): Promise<boolean> {
    return this.guard(async () => {
      await this.need().dtmf(id, tone);
      updateCall(id, { dtmf: `${callById(id)?.dtmf ?? ''}${tone}`.slice(-32) });
    });
  }

  blindTransfer(id: string, text: string): Promise<boolean> {
    const target = dialTarget(text, this.line.domain);
    if (!target) {
      showError('invalid_number');
      return Promise.resolve(false);
    }
    return this.transfer(id, () => this.need().blindTransfer(id, target));
  }

  attendedTransfer(id: string, consultId: string): Promise<boolean> {
    return this.transfer(id, () => this.need().attendedTransfer(id, consultId));
  }

  /** A failure of the phone outside an operator's action (a device change): shown as its code. */
  showFailure(err: unknown): void {
    showError(this.microphone.errorCode(err));
  }
}
