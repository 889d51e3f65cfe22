import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import type { Language } from '../../../shared/ipc/contract';
import { Theme } from '../../../shared/policy';
import { useAppStore } from './app-store';

/**
 * The display language and theme (issue 18 items 2 and 4), before and after sign-in (the About
 * panel and the account panel); a key the managed policy sets is shown, not changeable.
 */
export function DisplaySettings() {
  const { t } = useTranslation();
  const id = useId();
  const policy = useAppStore((s) => s.policy);
  const setLanguage = useAppStore((s) => s.setLanguage);
  const setTheme = useAppStore((s) => s.setTheme);
  if (!policy) return null;
  const languageManaged = policy.managedKeys.includes('language');
  const themeManaged = policy.managedKeys.includes('theme');
  return (
    <div className="display-settings" data-testid="display-settings">
      <label htmlFor={`${id}-language`}>{t('language.label')}</label>
      <select id={`${id}-language`} data-testid="language-select" value={policy.policy.language} disabled={languageManaged} onChange={(e) => void setLanguage(e.target.value as Language)}>
        <option value="ja">{t('language.ja')}</option>
        <option value="en">{t('language.en')}</option>
      </select>
      {languageManaged && <p className="note">{t('language.managed')}</p>}
      <label htmlFor={`${id}-theme`}>{t('display.theme')}</label>
      <select id={`${id}-theme`} data-testid="theme-select" value={policy.policy.theme} disabled={themeManaged} onChange={(e) => void setTheme(e.target.value as Theme)}>
        {Theme.options.map((th) => (
          <option key={th} value={th}>
            {t(`display.themes.${th}`)}
          </option>
        ))}
      </select>
      {themeManaged && <p className="note">{t('display.themeManaged')}</p>}
    </div>
  );
}
