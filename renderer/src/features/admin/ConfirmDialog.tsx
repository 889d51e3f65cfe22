import { useEffect, useId, useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * The console's one confirmation (WAI-ARIA alertdialog) before a destructive action: focus moves
 * to Cancel (the safe choice) when it opens, Tab and Shift+Tab stay between its two buttons,
 * Escape cancels, and focus returns to what had it (the button that opened it) when it closes.
 * `body`: what happens (to history, to sessions), one paragraph per line.
 */
export function ConfirmDialog({ open, title, body, action, onConfirm, onCancel, testid = 'confirm-dialog', busy = false }: {
  open: boolean;
  title: string;
  body: string | readonly string[];
  /** The confirm button's words (the action's name); default "実行する / Confirm". */
  action?: string;
  onConfirm: () => void;
  onCancel: () => void;
  testid?: string;
  busy?: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  const ok = useRef<HTMLButtonElement>(null);
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    if (!open) return;
    opener.current = document.activeElement;
    cancel.current?.focus();
    return () => {
      const el = opener.current;
      if (el instanceof HTMLElement && el.isConnected) el.focus();
    };
  }, [open]);
  if (!open) return null;
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onCancel();
    } else if (e.key === 'Tab') {
      e.preventDefault();
      (document.activeElement === cancel.current ? ok.current : cancel.current)?.focus();
    }
  };
  const lines = typeof body === 'string' ? [body] : body;
  return (
    <div role="alertdialog" aria-modal="true" aria-labelledby={`${id}-t`} aria-describedby={`${id}-b`} className="card admin-dialog" data-testid={testid} onKeyDown={onKey}>
      <h3 id={`${id}-t`}>{title}</h3>
      <div id={`${id}-b`}>
        {lines.map((line) => <p key={line}>{line}</p>)}
      </div>
      <div className="actions">
        <button type="button" ref={cancel} onClick={onCancel} data-testid={`${testid}-cancel`}>{t('admin.common.cancel')}</button>
        <button type="button" ref={ok} onClick={onConfirm} disabled={busy} data-testid={`${testid}-ok`}>{action ?? t('admin.common.confirm')}</button>
      </div>
    </div>
  );
}
