import { useTranslation } from 'react-i18next';
import { useSessionStore } from '../../app/session-store';
import { useAppStore } from '../../app/app-store';
import { PhoneStatus } from '../phone/PhoneStatus';
import { LinkStatusIndicator } from './LinkStatus';
import { OPEN_SHORTCUTS_EVENT } from './shortcut-events';

type Tone = 'ok' | 'warn' | 'bad' | 'idle';

function Indicator({ label, value, tone, testId }: { label: string; value: string; tone: Tone; testId: string }) {
  return (
    <div className="status-item" data-testid={testId} data-tone={tone}>
      <span className={`dot dot-${tone}`} aria-hidden="true" />
      <span className="status-label">{label}</span>
      <span className="status-value">{value}</span>
    </div>
  );
}

/** Always visible: gateway (and its live link while signed in), phone and lock state, the things an operator must never have to guess. */
export function StatusBar() {
  const { t } = useTranslation();
  const gateway = useAppStore((s) => s.gateway);
  const lock = useAppStore((s) => s.lock);
  const lockNow = useAppStore((s) => s.lockNow);
  const resume = useAppStore((s) => s.resume);
  // main locks only a signed-in session (main/lock/lock-service.ts): no button that does nothing
  const signedIn = useSessionStore((s) => s.session.status === 'signed-in');

  const gatewayTone: Tone = gateway === null ? 'idle' : gateway.reachable ? 'ok' : 'bad';
  const gatewayText =
    gateway === null ? t('status.gatewayUnknown') : gateway.reachable ? t('status.gatewayOnline') : t('status.gatewayOffline');

  return (
    <footer className="status-bar" role="status" aria-live="polite">
      <Indicator label={t('status.gateway')} value={gatewayText} tone={gatewayTone} testId="status-gateway" />
      <LinkStatusIndicator />
      <PhoneStatus />
      {resume.phase !== 'idle' && resume.phase !== 'signed-out' && (
        <Indicator
          label={t('status.resume')}
          value={t(`status.resumeState.${resume.phase}`)}
          tone={resume.phase === 'done' ? 'ok' : 'warn'}
          testId="status-resume"
        />
      )}
      <Indicator
        label={t('status.lock')}
        value={lock.locked ? t('status.locked') : t('status.unlocked')}
        tone={lock.locked ? 'warn' : 'ok'}
        testId="status-lock"
      />
      <span className="spacer" />
      {signedIn && (
        // the list of keyboard shortcuts (Shortcuts.tsx opens it; Ctrl+Alt+/ too)
        <button type="button" className="link-button" data-testid="shortcuts-open" aria-keyshortcuts="Control+Alt+/" onClick={() => window.dispatchEvent(new Event(OPEN_SHORTCUTS_EVENT))}>
          {t('shortcuts.open')}
        </button>
      )}
      {!lock.locked && signedIn && (
        <button type="button" className="link-button" onClick={() => void lockNow()}>
          {t('status.lockNow')}
        </button>
      )}
    </footer>
  );
}
