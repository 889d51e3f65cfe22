// What the users, sessions and devices sections share: the refusal box, the confirmation
// dialog (moves focus in, Escape cancels, gives focus back to what opened it), and dates in
// Japan time (formatDateTime in i18n/format.ts, as the account screens show them).
import { ConfirmDialog as SharedConfirmDialog } from '../ConfirmDialog';
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { AdminFailure } from '../admin-api';

/** The gateway's refusal in the user's language (admin.errors.<code>), with the password rules that failed. */
export function AdminErrorBox({ failure, testId }: { failure: AdminFailure | null; testId: string }) {
  const { t } = useTranslation();
  if (!failure) return null;
  return (
    <div role="alert" className="error" data-testid={testId} data-code={failure.code}>
      <p>{t(`admin.errors.${failure.code}`, { defaultValue: t('admin.errors.unexpected') })}</p>
      {failure.code === 'password_policy' && failure.violations.length > 0 && (
        <ul>
          {failure.violations.map((v) => (
            <li key={v}>{t(`account.password.rule.${v}`, { defaultValue: v, min: '', max: '' })}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A success line, announced politely. */
export function Done({ text, testId }: { text: string | null; testId: string }) {
  if (!text) return null;
  return <p role="status" className="note" data-testid={testId}>{text}</p>;
}

export interface ConfirmRequest {
  title: string;
  lines: string[];
  /** The confirm button's words (the action's name). */
  action: string;
  run: () => Promise<void> | void;
}

/** A ConfirmRequest shown in the console's one confirmation dialog (../ConfirmDialog.tsx). */
export function ConfirmRequestDialog({ request, onClose }: { request: ConfirmRequest | null; onClose: () => void }) {
  return (
    <SharedConfirmDialog
      open={request !== null}
      title={request?.title ?? ''}
      body={request?.lines ?? []}
      action={request?.action ?? ''}
      testid="admin-confirm"
      onCancel={onClose}
      onConfirm={() => {
        onClose();
        if (request) void request.run();
      }}
    />
  );
}

/** A labelled field: the label names the input, the hint and the field's problem describe it. */
export function Field({ label, hint, problem, children, id }: { label: string; hint?: string; problem?: string | null; children: (describedBy: string | undefined) => ReactNode; id: string }) {
  const described = [hint ? `${id}-hint` : null, problem ? `${id}-problem` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field-row">
      <label htmlFor={id}>{label}</label>
      {children(described)}
      {hint && <span id={`${id}-hint`} className="note">{hint}</span>}
      {problem && <span id={`${id}-problem`} className="error" role="alert">{problem}</span>}
    </div>
  );
}
