import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import { AppShell } from './features/shell/AppShell';
import { SipJsPhone } from './features/phone/sipjs-phone';
import { createI18n } from './i18n';
import { sendFailuresToMain } from './log-channel';
import './styles.css';

// first: every failure reported from here on reaches main's log (the console if it cannot)
sendFailuresToMain();
const i18n = createI18n('ja');
const createPhone = () => new SipJsPhone();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>
      <AppShell createPhone={createPhone} />
    </I18nextProvider>
  </StrictMode>,
);
