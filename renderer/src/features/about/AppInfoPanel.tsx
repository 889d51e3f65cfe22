import { useTranslation } from 'react-i18next';
import type { UpdateStatus } from '../../../../shared/ipc/contract';
import { useAppStore } from '../../app/app-store';
import { DisplaySettings } from '../../app/DisplaySettings';

export function AppInfoPanel() {
  const { t } = useTranslation();
  const info = useAppStore((s) => s.info);
  const policy = useAppStore((s) => s.policy);
  const updates = useAppStore((s) => s.updates);
  if (!info || !policy) return null;

  return (
    // What a user needs before signing in (language, theme) in view; the app's technical details
    // (version, host, gateway) folded in "About this app" for IT and support (issue 18 item 1).
    <section className="card about" aria-labelledby="about-h">
      <h2 id="about-h">{t('display.heading')}</h2>
      <DisplaySettings />
      <details className="about-details" data-testid="about-details">
        <summary>{t('about.heading')}</summary>
        <dl>
          <dt>{t('about.version')}</dt>
          <dd data-testid="app-version">{info.version}</dd>
          <dt>{t('about.platform')}</dt>
          <dd>{info.platform}</dd>
          <dt>{t('about.host')}</dt>
          <dd data-testid="app-host">{info.host === 'electron' ? t('about.hostElectron') : t('about.hostDevhost')}</dd>
          <dt>{t('about.gatewayUrl')}</dt>
          <dd>
            {policy.policy.gatewayUrl}
            {policy.managedKeys.includes('gatewayUrl') && <span className="badge">{t('about.managed')}</span>}
          </dd>
          {updates && (
            <>
              <dt>{t('about.updates')}</dt>
              <dd data-testid="update-status">{updateText(updates, t)}</dd>
            </>
          )}
        </dl>
      </details>
    </section>
  );
}

/** The updater's state in words (docs/updates.md); a refusal names its code for IT. */
function updateText(u: UpdateStatus, t: (key: string, opts?: Record<string, unknown>) => string): string {
  switch (u.state) {
    case 'ready':
      return t(u.required ? 'about.update.readyRequired' : 'about.update.ready', { version: u.version });
    case 'not_in_rollout':
    case 'handed_over':
      return t(`about.update.${u.state}`, { version: u.version });
    case 'refused':
      return t('about.update.refused', { code: u.code });
    default:
      return t(`about.update.${u.state}`);
  }
}
