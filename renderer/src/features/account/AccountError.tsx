import { useTranslation } from 'react-i18next';
import type { AccountFailure } from './account-api';

/** The gateway's refusal in the user's language; for the password rules, which ones failed. */
export function AccountError({ failure, testId }: { failure: AccountFailure | null; testId: string }) {
  const { t } = useTranslation();
  if (!failure) return null;
  return (
    <div role="alert" className="error" data-testid={testId} data-code={failure.code}>
      <p>{t(`account.errors.${failure.code}`)}</p>
      {failure.violations.length > 0 && (
        <ul>
          {failure.violations.map((v) => (
            <li key={v}>{t(`account.password.rule.${v}`, { defaultValue: v, min: '', max: '' })}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
