import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { liveCalls, usePhoneStore } from '../phone/phone-store';
import { AdminConsole, consoleSectionsFor } from './AdminConsole';
import { SECTIONS } from './sections';
import type { ConsoleSection } from './section-types';

/**
 * Work (the operator's workspace, `children`) or the admin console, for a user who may open at
 * least one console section. Both stay mounted, so neither a call's view nor a half-typed form is
 * lost by switching (the console mounts when first opened); a call that starts ringing brings the work view back.
 */
export function WorkspaceSwitch({ permissions, children, sections = SECTIONS }: { permissions: readonly string[]; children: ReactNode; sections?: readonly ConsoleSection[] }) {
  const { t } = useTranslation();
  const mayOpen = consoleSectionsFor(permissions, sections).length > 0;
  // someone who handles no calls (an IT admin) starts in the console
  const [view, setView] = useState<'work' | 'console'>(() => (mayOpen && !permissions.includes('calls:handle') ? 'console' : 'work'));
  // the console mounts when first opened (no admin calls at sign-in), then stays mounted
  const [opened, setOpened] = useState(view === 'console');
  useEffect(() => {
    if (view === 'console') setOpened(true);
  }, [view]);
  const calls = usePhoneStore((s) => liveCalls(s.calls).length);
  const before = useRef(calls);
  useEffect(() => {
    if (calls > before.current) setView('work');
    before.current = calls;
  }, [calls]);
  if (!mayOpen) return <>{children}</>;
  return (
    <>
      <nav className="workspace-switch" aria-label={t('admin.sectionsLabel')}>
        {view === 'work' ? (
          <button type="button" data-testid="admin-open" onClick={() => setView('console')}>
            {t('admin.open')}
          </button>
        ) : (
          <button type="button" data-testid="admin-back" onClick={() => setView('work')}>
            {t('admin.back')}
          </button>
        )}
      </nav>
      <div className="workspace" hidden={view !== 'work'} data-testid="workspace">
        {children}
      </div>
      <div className="workspace" hidden={view !== 'console'}>
        {(opened || view === 'console') && <AdminConsole permissions={permissions} sections={sections} />}
      </div>
    </>
  );
}
