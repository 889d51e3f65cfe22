import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/app-store';
import { DisplaySettings } from '../../app/DisplaySettings';

export function AppInfoPanel() {
  const { t } = useTranslation();
  const info = useAppStore((s) => s.info);
  const policy = useAppStore((s) => s.policy);
  if (!info || !policy) return null;

  return (
    <section className="card about" aria-labelledby="about-h">
      <h2 id="about-h">{t('about.heading')}</h2>
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
      </dl>
      <DisplaySettings />
    </section>
  );
}
