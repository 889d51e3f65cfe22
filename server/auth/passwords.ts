// argon2id hashing. Unknown usernames are verified against a dummy hash made with the same
// parameters, so "no such user" and "wrong password" take the same time.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Argon2Params } from '../config';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, not importable under isolatedModules)

export class PasswordHasher {
  private dummy: Promise<string>;

  constructor(private readonly params: Argon2Params) {
    this.dummy = this.hash(randomBytes(24).toString('base64url'));
  }

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID, ...this.params, outputLen: 32 });
  }

  async verify(storedHash: string | null, password: string): Promise<boolean> {
    const target = storedHash ?? (await this.dummy);
    try {
      const ok = await verify(target, password);
      return storedHash !== null && ok;
    } catch {
      return false;
    }
  }

  /** True when a stored hash was made with other parameters (re-hash after a successful sign-in). */
  isOutdated(storedHash: string): boolean {
    const m = /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    return !m || Number(m[1]) !== this.params.memoryCost || Number(m[2]) !== this.params.timeCost || Number(m[3]) !== this.params.parallelism;
  }
}
