// A re-route's failed branch (koe.cfg failure_route[FAIL] -> GET /sip/route?failed=&status=):
// the status Kamailio reports becomes the operator model's end cause (server/sip/route-policy.ts).
import { describe, expect, it } from 'vitest';
import { causeOfFailedBranch } from '../../../server/sip/route-policy';

describe('causeOfFailedBranch', () => {
  it('the ring timer (408) and an unreachable client are "no_answer" (the operator is "missed"); a reject is "declined" or "busy"', () => {
    expect(causeOfFailedBranch('408')).toBe('no_answer');
    expect(causeOfFailedBranch('480')).toBe('no_answer');
    expect(causeOfFailedBranch('404')).toBe('no_answer');
    expect(causeOfFailedBranch('410')).toBe('no_answer');
    expect(causeOfFailedBranch('603')).toBe('declined');
    expect(causeOfFailedBranch('486')).toBe('busy');
    expect(causeOfFailedBranch('600')).toBe('busy');
    expect(causeOfFailedBranch('477')).toBe('failed');
    expect(causeOfFailedBranch('503')).toBe('failed');
  });
  it('a re-route is asked only while the caller is there: 487 or no status is never "the caller gave up"', () => {
    for (const s of ['487', '', 'abc', '99', '1000', '6033', ' 408', '-408', '700']) expect(causeOfFailedBranch(s), JSON.stringify(s)).toBe('no_answer');
  });
});
