// The transfer directory (issue 18 item 6): opened from the transfer row, searched by name or
// number; choosing an entry fills the transfer / consult target (a colleague's SIP user, a
// campaign queue's number, a quick connect's number) and gives the focus back to it. What the
// gateway lists is what the operator may see (shared/gateway/directory.ts); it lives in this
// component only, gone when the call's controls are.
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TransferDirectoryResponse } from '../../../../shared/gateway/directory';
import { formatPhone } from '../../../../shared/rules/phone-format';
import { accessToken, gatewayClient } from '../../gateway';
import { logFailure } from '../../log';

interface Entry {
  key: string;
  kind: 'colleague' | 'queue' | 'quick';
  name: string;
  /** What goes into the transfer target. */
  target: string;
  /** Presence (colleagues) or the number in the national form. */
  detail: string;
}

const fold = (s: string) => s.normalize('NFKC').toLowerCase();
const digits = (s: string) => s.replace(/\D/g, '');

export function TransferDirectory({ onPick }: { onPick: (target: string) => void }) {
  const { t } = useTranslation();
  const id = useId();
  const [open, setOpen] = useState(false);
  const [dir, setDir] = useState<TransferDirectoryResponse | null>(null);
  const [failed, setFailed] = useState(false);
  const [q, setQ] = useState('');

  useEffect(() => {
    if (!open) return;
    let live = true;
    setFailed(false);
    void (async () => {
      try {
        const d = await gatewayClient.call('transferDirectory', { accessToken: await accessToken() });
        if (live) setDir(d);
      } catch (err) {
        logFailure('loading the transfer directory', err);
        if (live) setFailed(true);
      }
    })();
    return () => {
      live = false;
    };
  }, [open]);

  const entries: Entry[] = dir
    ? [
        ...dir.colleagues.map((c) => ({ key: `c-${c.userId}`, kind: 'colleague' as const, name: c.displayName, target: c.sipUser, detail: t(`agent.state.${c.state}`) })),
        ...dir.queues.map((g) => ({ key: `q-${g.campaignId}`, kind: 'queue' as const, name: g.name, target: g.number, detail: formatPhone(g.number, { style: 'national' }) })),
        ...dir.quickConnects.map((k) => ({ key: `k-${k.id}`, kind: 'quick' as const, name: k.name, target: k.number, detail: formatPhone(k.number, { style: 'national' }) })),
      ]
    : [];
  const needle = fold(q.trim());
  const shown = needle === '' ? entries : entries.filter((e) => fold(e.name).includes(needle) || fold(e.target).includes(needle) || (digits(needle) !== '' && digits(e.detail).includes(digits(needle))));

  return (
    <div className="transfer-directory">
      <button type="button" aria-expanded={open} aria-controls={`${id}-panel`} data-testid="directory-toggle" onClick={() => setOpen(!open)}>
        {t('calls.directory.open')}
      </button>
      {open && (
        <div id={`${id}-panel`} role="group" aria-label={t('calls.directory.heading')} data-testid="directory">
          <label htmlFor={`${id}-q`}>{t('calls.directory.search')}</label>
          <input id={`${id}-q`} type="search" value={q} onChange={(e) => setQ(e.target.value)} data-testid="directory-search" autoComplete="off" />
          {failed && (
            <p role="alert" className="error" data-testid="directory-error">
              {t('calls.directory.failed')}
            </p>
          )}
          {dir === null && !failed && <p className="note">{t('calls.directory.loading')}</p>}
          {dir && shown.length === 0 && <p className="note" data-testid="directory-empty">{t('calls.directory.none')}</p>}
          {(['colleague', 'queue', 'quick'] as const).map((kind) => {
            const list = shown.filter((e) => e.kind === kind);
            if (list.length === 0) return null;
            return (
              <section key={kind} aria-label={t(`calls.directory.kind.${kind}`)}>
                <h4>{t(`calls.directory.kind.${kind}`)}</h4>
                <ul className="directory-list">
                  {list.map((e) => (
                    <li key={e.key}>
                      <button
                        type="button"
                        data-testid="directory-entry"
                        data-target={e.target}
                        onClick={() => {
                          onPick(e.target);
                          setOpen(false);
                        }}
                      >
                        {e.name} <span className="directory-detail">{e.detail}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
    </div>
  );
}
