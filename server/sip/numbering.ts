// The trunk's numbering rule from the gateway config (sip.trunks), for shared/rules/numbering.ts.
import type { SipConfig } from '../config';
import type { TrunkNumbering } from '../../shared/rules/numbering';

/** The rule of `trunk`; a trunk the config does not name uses "default" (always defined). */
export function trunkNumbering(sip: Pick<SipConfig, 'trunks'>, trunk: string): TrunkNumbering {
  return sip.trunks[trunk] ?? sip.trunks.default!;
}
