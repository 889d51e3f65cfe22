import { useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Permission } from '../../../../shared/gateway/permissions';
import { SECTIONS } from './sections';
import type { ConsoleSection } from './section-types';

/** The sections a user with these permissions may open (none: the console is not offered). */
export function consoleSectionsFor(permissions: readonly string[], sections: readonly ConsoleSection[] = SECTIONS): ConsoleSection[] {
  return sections.filter((s) => permissions.includes(s.permission));
}

/**
 * The admin console: a tab per section the user may open (WAI-ARIA tabs: arrow keys, Home, End
 * move between tabs; Tab enters the open section). The open section stays mounted while another
 * is open only if it was opened: switching tabs keeps what was typed in a form.
 */
export function AdminConsole({ permissions, sections = SECTIONS }: { permissions: readonly string[]; sections?: readonly ConsoleSection[] }) {
  const { t } = useTranslation();
  const id = useId();
  const open = useMemo(() => consoleSectionsFor(permissions, sections), [permissions, sections]);
  const [selected, setSelected] = useState(() => open[0]?.id ?? null);
  const [visited, setVisited] = useState<ReadonlySet<string>>(() => new Set(open[0] ? [open[0].id] : []));
  const tabs = useRef(new Map<string, HTMLButtonElement>());
  const can = useMemo(() => (p: Permission) => permissions.includes(p), [permissions]);
  if (open.length === 0) return null;
  const current = open.find((s) => s.id === selected) ?? open[0]!;

  const select = (sectionId: string, focus = false) => {
    setSelected(sectionId);
    setVisited((v) => (v.has(sectionId) ? v : new Set([...v, sectionId])));
    if (focus) tabs.current.get(sectionId)?.focus();
  };
  const onKey = (e: KeyboardEvent) => {
    // from the tab that has focus (the selected one, unless focus was put elsewhere in the list)
    const focused = open.findIndex((s) => tabs.current.get(s.id) === document.activeElement);
    const i = focused >= 0 ? focused : open.findIndex((s) => s.id === current.id);
    const to = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? (i + 1) % open.length
      : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? (i - 1 + open.length) % open.length
      : e.key === 'Home' ? 0 : e.key === 'End' ? open.length - 1 : -1;
    if (to < 0) return;
    e.preventDefault();
    select(open[to]!.id, true);
  };

  return (
    <section className="card admin-console" aria-labelledby={`${id}-h`} data-testid="admin-console">
      <h1 id={`${id}-h`}>{t('admin.heading')}</h1>
      <div role="tablist" aria-label={t('admin.sectionsLabel')} aria-orientation="vertical" className="admin-tabs" onKeyDown={onKey}>
        {open.map((s) => (
          <button
            key={s.id}
            ref={(el) => void (el ? tabs.current.set(s.id, el) : tabs.current.delete(s.id))}
            type="button"
            role="tab"
            id={`${id}-tab-${s.id}`}
            aria-selected={s.id === current.id}
            aria-controls={`${id}-panel-${s.id}`}
            tabIndex={s.id === current.id ? 0 : -1}
            data-testid={`admin-tab-${s.id}`}
            onClick={() => select(s.id)}
          >
            {t(`admin.sections.${s.id}`)}
          </button>
        ))}
      </div>
      {open.filter((s) => s.id === current.id || visited.has(s.id)).map((s) => (
        <div
          key={s.id}
          role="tabpanel"
          id={`${id}-panel-${s.id}`}
          aria-labelledby={`${id}-tab-${s.id}`}
          hidden={s.id !== current.id}
          className="admin-panel"
          data-testid={`admin-section-${s.id}`}
        >
          <s.Component can={can} />
        </div>
      ))}
    </section>
  );
}
