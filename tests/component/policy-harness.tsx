// The admin console's policy section against a fake gateway (`call`): the org's policy starts at
// the defaults; a patch is kept group by group (as the gateway merges it) and recorded.
import { render } from '@testing-library/react';
import { I18nextProvider } from 'react-i18next';
import { vi } from 'vitest';
import { DEFAULT_ORG_POLICY, type OrgPolicy } from '../../shared/gateway/policy';
import type { Permission } from '../../shared/gateway/permissions';
import { createI18n } from '../../renderer/src/i18n';
import { PolicySection } from '../../renderer/src/features/admin/policy/PolicySection';
import type { AdminCall } from '../../renderer/src/features/admin/admin-api';

const can = (p: Permission) => ['policy:manage', 'users:read'].includes(p);
const roles = async () => ({ roles: ['admin', 'operator'].map((key) => ({ id: crypto.randomUUID(), key, name: key, permissions: [], builtin: true })) });

export function mountPolicySection(language: 'ja' | 'en') {
  let stored: OrgPolicy = structuredClone(DEFAULT_ORG_POLICY);
  const patches: any[] = [];
  const call = vi.fn(async (name: string, input: { body?: any } = {}) => {
    if (name === 'getPolicy') return { policy: stored };
    if (name === 'listRoles') return roles();
    if (name === 'patchPolicy') {
      patches.push(input.body);
      const next: Record<string, unknown> = { ...stored };
      for (const [group, fields] of Object.entries(input.body as Record<string, object>)) next[group] = { ...(stored as unknown as Record<string, object>)[group], ...fields };
      stored = next as unknown as OrgPolicy;
      return { policy: stored };
    }
    throw new Error(`unexpected call ${name}`);
  }) as unknown as AdminCall;
  render(
    <I18nextProvider i18n={createI18n(language)}>
      <PolicySection can={can} call={call} />
    </I18nextProvider>,
  );
  return { patches, stored: () => stored };
}
