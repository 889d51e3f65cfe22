// Outbound calls' small rules and the operator's campaigns for them: what a pasted number
// becomes in the dial field, and the campaigns (with their caller IDs) the operator may call for.
import { toE164 } from '../../../../shared/rules/phone';
import { accessToken, gatewayClient } from '../../gateway';
import { userDataGeneration } from '../../app/user-data';
import { logFailure } from '../../log';
import { usePhoneStore } from './phone-store';

/** The keys of the dial pad (as on a phone: three columns). */
export const DIAL_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

/**
 * Pasted text that is a phone number (090-1234-5678, +81 90 1234 5678, full-width digits,
 * parentheses, dots): its digits, with a leading + kept. Null: not a phone number (a colleague's
 * SIP user, anything else), pasted as it is.
 */
export function pastedNumber(text: string): string | null {
  const t = text.normalize('NFKC').trim();
  if (toE164(t) === null) return null;
  return (t.startsWith('+') ? '+' : '') + t.replace(/\D/g, '');
}

/**
 * The operator's campaigns (the gateway's scope for them), for the campaign an outbound call is
 * for; disabled ones are left out. One campaign is chosen for them; with several, the last choice
 * stays while it is still one of theirs. A failure is logged and shown: they cannot choose a
 * caller ID meanwhile (calls then go out without one).
 */
export async function loadOutboundCampaigns(): Promise<void> {
  const generation = userDataGeneration();
  try {
    const { campaigns } = await gatewayClient.call('listCampaigns', { accessToken: await accessToken() });
    if (generation !== userDataGeneration()) return; // another session by now
    const list = campaigns.filter((c) => !c.disabled).map((c) => ({ id: c.id, name: c.name, callerId: c.outboundCallerId }));
    usePhoneStore.setState((s) => ({
      outboundCampaigns: list,
      dialCampaignId: list.length === 1 ? list[0]!.id : list.some((c) => c.id === s.dialCampaignId) ? s.dialCampaignId : null,
    }));
  } catch (err) {
    logFailure("loading the operator's campaigns for outbound calls", err);
    if (generation !== userDataGeneration()) return;
    usePhoneStore.setState({ outboundCampaigns: [], error: 'campaigns_unavailable' });
  }
}
