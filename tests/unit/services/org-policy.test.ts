import { describe, expect, it } from 'vitest';
import { combineWithOrg, PolicyService } from '../../../main/services/policy';
import { defaultPolicy } from '../../../shared/policy';

const org = (o: Partial<{ idleTimeoutSeconds: number; contentProtection: boolean; blurOnFocusLoss: boolean }>) => ({
  idleTimeoutSeconds: 300,
  contentProtection: true,
  blurOnFocusLoss: false,
  ...o,
});

describe('managed policy + org policy: the stricter value wins', () => {
  it.each([
    [{ idleTimeoutSeconds: 600 }, { idleTimeoutSeconds: 120 }, 120],
    [{ idleTimeoutSeconds: 60 }, { idleTimeoutSeconds: 900 }, 60],
  ])('idle timeout: managed %j, org %j -> %d', (managed, o, expected) => {
    const p = new PolicyService(managed, {});
    p.setOrg(org(o));
    expect(p.effective().policy.idleTimeoutSeconds).toBe(expected);
  });

  it('content protection and blur stay on if either side turns them on', () => {
    const local = { ...defaultPolicy(), contentProtection: false, blurOnFocusLoss: false };
    expect(combineWithOrg(local, org({ contentProtection: true, blurOnFocusLoss: true }))).toMatchObject({ contentProtection: true, blurOnFocusLoss: true });
    expect(combineWithOrg({ ...local, contentProtection: true }, org({ contentProtection: false }))).toMatchObject({ contentProtection: true });
    expect(combineWithOrg(local, org({ contentProtection: false }))).toMatchObject({ contentProtection: false });
  });

  it('a managed policy that turns protection off cannot beat an org that requires it, and signing out drops the org part', () => {
    const p = new PolicyService({ contentProtection: false, idleTimeoutSeconds: 900 }, {});
    const seen: boolean[] = [];
    p.onChange((e) => seen.push(e.policy.contentProtection));
    p.setOrg(org({ contentProtection: true, idleTimeoutSeconds: 300 }));
    expect(p.effective().policy).toMatchObject({ contentProtection: true, idleTimeoutSeconds: 300 });
    p.setOrg(null);
    expect(p.effective().policy).toMatchObject({ contentProtection: false, idleTimeoutSeconds: 900 });
    expect(seen).toEqual([true, false]);
  });
});
