import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { I18nextProvider } from 'react-i18next';
import { AppShell } from './features/shell/AppShell';
import { SipJsPhone } from './features/phone/sipjs-phone';
import { createI18n } from './i18n';
import './styles.css';

const i18n = createI18n('ja');
const createPhone = () => new SipJsPhone();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nextProvider i18n={i18n}>
      <AppShell createPhone={createPhone} />
    </I18nextProvider>
  </StrictMode>,
);
