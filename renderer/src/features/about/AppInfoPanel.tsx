import { useTranslation } from 'react-i18next';
import type { Language } from '../../../../shared/ipc/contract';
import { useAppStore } from '../../app/app-store';

export function AppInfoPanel() {
  const { t } = useTranslation();
  const info = useAppStore((s) => s.info);
  const policy = useAppStore((s) => s.policy);
  const setLanguage = useAppStore((s) => s.setLanguage);
  if (!info || !policy) return null;
  const languageManaged = policy.managedKeys.includes('language');

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
      <label htmlFor="language">{t('language.label')}</label>
      <select
        id="language"
        value={policy.policy.language}
        disabled={languageManaged}
        onChange={(e) => void setLanguage(e.target.value as Language)}
      >
        <option value="ja">{t('language.ja')}</option>
        <option value="en">{t('language.en')}</option>
      </select>
      {languageManaged && <p className="note">{t('language.managed')}</p>}
    </section>
  );
}
