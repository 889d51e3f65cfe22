import { deviceSignatureMessage, normalizeUsername } from '../../shared/gateway/device-message';
import { GatewayCallError, type GatewayClient } from '../../shared/gateway-client';
import { SignInRefusal as SignInRefusalSchema } from '../../shared/ipc/contract';
import type { LockState, SessionState, SignInInput, SignInOutcome, SignInRefusal } from '../../shared/ipc/contract';
import type { DeviceIdentity } from '../identity/device-identity';
import type { Logger } from '../ipc/dispatcher';
import { bestEffort, fallback, logFailure } from '../best-effort';
import { consoleLogger } from '../log';
import type { Clock } from '../lock/lock-service';
import type { SecretVault } from '../secrets/vault';
import { realTimers, type Timeouts } from '../timers';

const REFRESH_ACCOUNT = 'refresh-token';
const USER_ACCOUNT = 'session-username';
/** The longest sign-out waits for the gateway's answer before the session ends here anyway. */
export const SIGN_OUT_WAIT_MS = 2_000;
/** Refresh this long before the access token runs out. */
const REFRESH_MARGIN_MS = 60_000;

export type SessionTimers = Timeouts;

/** Gateway error codes passed to the renderer as they are (the contract's refusal codes, minus the client's own). */
const REFUSALS: ReadonlySet<string> = new Set(
  SignInRefusalSchema.shape.code.options.filter((c) => c !== 'keychain_unavailable' && c !== 'unexpected'),
);

/**
 * The operator's session, held by main. The refresh token lives only in the OS keychain;
 * every refresh carries a fresh device signature; the access token is kept in memory and
 * handed to the renderer on request (never while locked). Sign-out, expiry and an admin's
 * revoke end the session here, and main tells the renderer.
 */
export class SessionService {
  private state: SessionState = { status: 'signed-out', reason: null };
  private access: { token: string; expiresAt: number } | null = null;
  private username: string | null = null;
  private refreshTimer: unknown = null;
  private refreshing: Promise<void> | null = null;
  private listeners = new Set<(s: SessionState) => void>();
  private readonly timers: SessionTimers;
  private readonly log: Logger;
  /** Main's holders of the signed-in user's data, cleared together when the session ends. */
  private readonly holders = new Map<string, () => void | Promise<void>>();
  /** Bumped when the user's data is cleared: a refresh or verification in flight for the previous session drops its result. */
  private generation = 0;

  constructor(
    private readonly deps: {
      gateway: GatewayClient;
      vault: SecretVault;
      identity: DeviceIdentity;
      deviceName: () => string;
      clock: Clock;
      timers?: SessionTimers;
      log?: Logger;
    },
  ) {
    this.timers = deps.timers ?? realTimers;
    this.log = deps.log ?? consoleLogger('session');
    this.holdsUserData('session', async () => {
      this.clearTimer();
      this.access = null;
      this.username = null;
      this.refreshing = null;
      const deleted = await Promise.allSettled([this.deps.vault.delete(REFRESH_ACCOUNT), this.deps.vault.delete(USER_ACCOUNT)]);
      const failed = deleted.find((d) => d.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  current(): SessionState {
    return this.state;
  }

  /**
   * Registers a holder of the signed-in user's data in main (SIP credentials, agent state, the
   * lead's board, the gateway link, the org's policy). Every way a session ends (sign-out,
   * expiry, an admin's revoke, another user signing in) clears them all, before anyone is told.
   * The session's own tokens are the first holder.
   */
  holdsUserData(name: string, clear: () => void | Promise<void>): void {
    if (this.holders.has(name)) throw new Error(`user data holder registered twice: ${name}`);
    this.holders.set(name, clear);
  }

  /** For tests: the registered holders' names. */
  userDataHolders(): string[] {
    return [...this.holders.keys()];
  }

  onChange(listener: (s: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async signIn(input: SignInInput): Promise<SignInOutcome> {
    const { vault, identity, gateway } = this.deps;
    if (!(await vault.available())) return { outcome: 'refused', code: 'keychain_unavailable' };
    const username = normalizeUsername(input.username);
    try {
      const { challenge } = await gateway.call('challenge', { body: { username, purpose: 'sign-in' } });
      const { publicKey } = await identity.ensure();
      const signature = await identity.sign(deviceSignatureMessage({ purpose: 'sign-in', username, challenge, publicKey }));
      const res = await gateway.call('signIn', {
        body: {
          username,
          password: input.password,
          ...(input.totp ? { totp: input.totp } : {}),
          ...(input.recoveryCode ? { recoveryCode: input.recoveryCode } : {}),
          device: { publicKey, name: this.deps.deviceName().slice(0, 100) || 'PC', challenge, signature },
        },
      });
      // Someone signs in over a live session (another user on this PC): the previous user's
      // data goes first, then the new tokens are stored.
      if (this.state.status === 'signed-in') await this.clearUserData();
      await vault.set(REFRESH_ACCOUNT, res.tokens.refreshToken);
      await vault.set(USER_ACCOUNT, username);
      this.username = username;
      this.setAccess(res.tokens.accessToken, res.tokens.accessTokenExpiresAt);
      this.setState({
        status: 'signed-in',
        user: {
          id: res.user.id,
          username: res.user.username,
          displayName: res.user.displayName,
          role: res.user.role,
          permissions: res.user.permissions,
        },
        device: res.device ? { name: res.device.name, enrolledNow: res.device.enrolledNow } : null,
        totpEnrolmentRequired: res.totpEnrolmentRequired,
        passwordChangeRequired: res.passwordChangeRequired,
        absoluteExpiresAt: res.tokens.absoluteExpiresAt,
        ...(res.newDevices.length > 0 ? { newDevices: res.newDevices } : {}),
      });
      return { outcome: 'signed-in', session: this.state };
    } catch (err) {
      const refusal = this.refusalOf(err);
      // the gateway's refusals are answers shown to the operator; anything else is a fault
      if (refusal.code === 'unexpected' || refusal.code === 'keychain_unavailable') logFailure(this.log, 'signing in', err, {}, 'error');
      return { outcome: 'refused', ...refusal };
    }
  }

  /**
   * Re-reads the user from the gateway (GET /me): after the renderer confirmed TOTP enrolment
   * or changed a temporary password the same session is a full one, and the state says so (the
   * gateway decides; a session that was full never becomes limited here). A failure leaves the state as it was.
   */
  async reload(): Promise<SessionState> {
    const generation = this.generation;
    const access = await this.accessToken();
    if (!access || this.state.status !== 'signed-in') return this.state;
    const me = await this.deps.gateway.call('me', { accessToken: access.token });
    const prev = this.state;
    if (generation !== this.generation || prev.status !== 'signed-in' || prev.user.id !== me.user.id) return this.state;
    this.setState({
      ...prev,
      user: { id: me.user.id, username: me.user.username, displayName: me.user.displayName, role: me.user.role, permissions: me.user.permissions },
      totpEnrolmentRequired: prev.totpEnrolmentRequired && !me.user.totpEnabled,
      passwordChangeRequired: prev.passwordChangeRequired && me.user.mustChangePassword,
    });
    return this.state;
  }

  /** The short-lived access token for the renderer's gateway calls (refreshed first if it is about to run out). */
  async accessToken(): Promise<{ token: string; expiresAt: number } | null> {
    if (this.state.status !== 'signed-in' || !this.access) return null;
    if (this.access.expiresAt - this.deps.clock.now() < REFRESH_MARGIN_MS) await this.refresh();
    return this.access ? { ...this.access } : null;
  }

  /** Rotates the refresh token with a fresh device signature. A refusal ends the session. */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const refreshing: Promise<void> = this.doRefresh().finally(() => {
      if (this.refreshing === refreshing) this.refreshing = null;
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  private async doRefresh(): Promise<void> {
    const { vault, identity, gateway } = this.deps;
    const generation = this.generation;
    const refreshToken = await vault.get(REFRESH_ACCOUNT);
    const username = this.username ?? (await vault.get(USER_ACCOUNT));
    if (!refreshToken || !username) return this.end('expired');
    try {
      const { challenge } = await gateway.call('challenge', { body: { username, purpose: 'refresh' } });
      const { publicKey } = await identity.ensure();
      const signature = await identity.sign(deviceSignatureMessage({ purpose: 'refresh', username, challenge, publicKey }));
      const res = await gateway.call('refresh', { body: { refreshToken, device: { publicKey, challenge, signature } } });
      // The session ended while this was on its way: its tokens are not brought back.
      if (generation !== this.generation) return;
      await vault.set(REFRESH_ACCOUNT, res.tokens.refreshToken);
      this.username = username;
      this.setAccess(res.tokens.accessToken, res.tokens.accessTokenExpiresAt);
    } catch (err) {
      // A refusal for a session that already ended must not end the next one.
      if (generation !== this.generation) return;
      // unreachable, or reached while its database restarts (503 unavailable): not a refusal
      if (err instanceof GatewayCallError && (err.code === 'unreachable' || err.code === 'unavailable')) {
        logFailure(this.log, 'refreshing the session (kept; retried in 30 s)', err);
        this.scheduleRefresh(30_000); // keep the session; try again when the network is back
        return;
      }
      const code = err instanceof GatewayCallError ? err.code : 'bad_response';
      logFailure(this.log, 'refreshing the session (ended)', err);
      await this.end(code === 'session_revoked' || code === 'token_reused' ? 'revoked' : 'expired');
    }
  }

  /**
   * Re-verifies the operator with the gateway before main unlocks the screen. Refusals count
   * towards the account's lockout at the gateway like any failed sign-in.
   */
  async reverify(input: { password: string; totp?: string }): Promise<'ok' | SignInRefusal['code']> {
    const generation = this.generation;
    const access = await this.accessToken().catch(fallback(this.log, 'getting an access token to unlock', null));
    if (!access) return 'invalid_credentials';
    try {
      await this.deps.gateway.call('reverify', {
        accessToken: access.token,
        body: { password: input.password, ...(input.totp ? { totp: input.totp } : {}) },
      });
      return 'ok';
    } catch (err) {
      const refusal = this.refusalOf(err);
      if (refusal.code === 'unexpected') logFailure(this.log, 're-verifying the operator to unlock', err);
      if (refusal.code === 'unexpected' && err instanceof GatewayCallError && err.code.startsWith('session_') && generation === this.generation) {
        await this.end('expired');
      }
      return refusal.code;
    }
  }

  /**
   * What the org asks of this client. Null only when signed out; a failure (the gateway
   * unreachable, a refusal) throws, so the caller (OrgPolicyFetcher) can retry and keep the
   * stricter values meanwhile: a failed fetch must never read as "the org asks nothing".
   */
  async clientPolicy() {
    const access = await this.accessToken();
    if (!access) return null;
    return this.deps.gateway.call('clientPolicy', { accessToken: access.token });
  }

  /** Best effort: tells the gateway the screen locked, for the audit log (a failure is logged). */
  async reportLock(reason: NonNullable<LockState['reason']>): Promise<void> {
    const token = this.access?.token;
    if (!token || this.state.status !== 'signed-in') return;
    await bestEffort(this.log, 'telling the gateway about a lock', this.deps.gateway.call('lockEvent', { accessToken: token, body: { reason } }), { reason });
  }

  /**
   * Tells the gateway (waiting at most SIGN_OUT_WAIT_MS: an unreachable gateway does not hold
   * the operator at a hanging sign-out), then ends the session here whatever it answered.
   */
  async signOut(): Promise<SessionState> {
    const token = this.access?.token;
    if (token) {
      const told = this.deps.gateway.call('signOut', { accessToken: token }).then(
        () => true,
        (err: unknown) => {
          this.log.error('telling the gateway about the sign-out failed', { error: err instanceof GatewayCallError ? err.code : err instanceof Error ? err.name : typeof err });
          return false;
        },
      );
      let timer: unknown = null;
      const waited = new Promise<'late'>((resolve) => (timer = this.timers.setTimeout(() => resolve('late'), SIGN_OUT_WAIT_MS)));
      if ((await Promise.race([told, waited])) === 'late') this.log.error('the gateway did not answer the sign-out in time; signed out here', {});
      this.timers.clearTimeout(timer);
    }
    await this.end('signed-out');
    return this.state;
  }

  /**
   * Ends the session in main and tells the renderer why: the one way out for sign-out, expiry
   * and revoke. Every holder of the user's data is cleared before the state changes.
   */
  async end(reason: Extract<SessionState, { status: 'signed-out' }>['reason']): Promise<void> {
    await this.clearUserData();
    this.setState({ status: 'signed-out', reason });
  }

  /** Clears every registered holder; one that fails is logged (by name) and the others still run. */
  private async clearUserData(): Promise<void> {
    this.generation++;
    for (const [name, clear] of this.holders) {
      try {
        await clear();
      } catch (err) {
        this.log.error('clearing the user data failed', { holder: name, error: err instanceof Error ? err.name : typeof err });
      }
    }
  }

  private setAccess(token: string, expiresAtIso: string): void {
    const expiresAt = Date.parse(expiresAtIso);
    this.access = { token, expiresAt };
    this.scheduleRefresh(Math.max(1_000, expiresAt - this.deps.clock.now() - REFRESH_MARGIN_MS));
  }

  private scheduleRefresh(ms: number): void {
    this.clearTimer();
    this.refreshTimer = this.timers.setTimeout(() => void this.refresh(), ms);
  }

  private clearTimer(): void {
    if (this.refreshTimer === null) return;
    this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private setState(s: SessionState): void {
    this.state = s;
    for (const l of this.listeners) l(s);
  }

  private refusalOf(err: unknown): Omit<SignInRefusal, 'outcome'> {
    if (err instanceof GatewayCallError) {
      if (err.code === 'device_not_enrolled') return { code: 'device_mismatch' };
      if (REFUSALS.has(err.code)) {
        return {
          code: err.code as SignInRefusal['code'],
          ...(err.details.lockedUntil ? { lockedUntil: err.details.lockedUntil } : {}),
          ...(err.details.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.details.retryAfterSeconds } : {}),
          ...(err.details.violations ? { violations: err.details.violations } : {}),
        };
      }
      if (err.code === 'validation_failed') return { code: 'invalid_credentials' };
    }
    if (err instanceof Error && err.name === 'KeychainUnavailableError') return { code: 'keychain_unavailable' };
    return { code: 'unexpected' };
  }
}
