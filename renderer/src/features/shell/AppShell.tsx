import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../stores/app';
import { AppInfoPanel } from '../about/AppInfoPanel';
import { SignInScreen } from '../signin/SignInScreen';
import { StatusBar } from './StatusBar';

const GATEWAY_POLL_MS = 15_000;

export function AppShell() {
  const { t, i18n } = useTranslation();
  const info = useAppStore((s) => s.info);
  const policy = useAppStore((s) => s.policy);
  const lock = useAppStore((s) => s.lock);
  const error = useAppStore((s) => s.error);

  useEffect(() => {
    const store = useAppStore.getState();
    const unlisten = store.listen();
    void store.load();
    void store.refreshGateway();
    const timer = setInterval(() => void useAppStore.getState().refreshGateway(), GATEWAY_POLL_MS);
    return () => {
      unlisten();
      clearInterval(timer);
    };
  }, []);

  const language = policy?.policy.language;
  useEffect(() => {
    if (language && i18n.language !== language) void i18n.changeLanguage(language);
    if (language) document.documentElement.lang = language;
  }, [language, i18n]);

  const devhost = info?.host === 'devhost';
  useEffect(() => {
    document.title = devhost ? t('app.devhostTitle') : t('app.title');
  }, [devhost, t]);

  return (
    <div className="app">
      {devhost && (
        <div className="devhost-banner" role="note">
          {t('app.devhostBanner')}
        </div>
      )}
      <main className="content">
        {error && (
          <p role="alert" className="error">
            {t('errors.bridge', { message: error.message })}
          </p>
        )}
        {lock.locked ? (
          <section className="card locked" data-testid="lock-screen">
            <h1>{t('locked.heading')}</h1>
            <p>{t('locked.body')}</p>
          </section>
        ) : (
          <>
            <SignInScreen />
            <AppInfoPanel />
          </>
        )}
      </main>
      <StatusBar />
    </div>
  );
}
