// Self-service calls to the gateway: the same client and the same short-lived access token as
// every other renderer call (renderer/src/gateway.ts; the tokens live in main). The gateway is
// the authority: these only ask, and turn its refusals into a code the screens show in the
// user's language.
import type { RouteBody, RouteName } from '../../../../shared/gateway/api';
import { GatewayCallError } from '../../../../shared/gateway-client';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';

/** Codes the account screens have a message for (account.errors.*); anything else is `unexpected`. */
const KNOWN: ReadonlySet<string> = new Set([
  'totp_invalid', 'totp_enrolment_required', 'password_change_required', 'conflict', 'invalid_credentials', 'password_policy', 'account_locked',
  'rate_limited', 'forbidden', 'validation_failed', 'unreachable',
]);

export interface AccountFailure {
  code: string;
  violations: string[];
}

/** A refusal or fault as the screens show it; faults (not answers) are logged by name. */
export function failureOf(err: unknown, what: string): AccountFailure {
  if (err instanceof GatewayCallError) {
    if (err.code.startsWith('session_') || err.code === 'token_invalid') return { code: 'session', violations: [] };
    if (KNOWN.has(err.code)) return { code: err.code, violations: err.details.violations ?? [] };
  }
  logFailure(what, err);
  return { code: 'unexpected', violations: [] };
}

async function call<N extends RouteName>(name: N, body?: RouteBody<N>) {
  const token = await accessToken();
  return gatewayClient.call(name, { accessToken: token, ...(body !== undefined ? { body } : {}) });
}

export const accountApi = {
  me: () => call('me'),
  totpEnrol: () => call('totpEnrol'),
  totpConfirm: (code: string) => call('totpConfirm', { code }),
  replaceRecoveryCodes: (code: string) => call('recoveryCodes', { code }),
  passwordPolicy: () => call('passwordPolicy'),
  changePassword: (currentPassword: string, newPassword: string) => call('changePassword', { currentPassword, newPassword }),
  myDevices: () => call('myDevices'),
};
export type AccountApi = typeof accountApi;

/** The QR code the gateway drew (SVG text) as an image: an <img> runs no script, and the CSP allows only data: images besides the app's own. */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
