// The console's webhooks section (issue 17): add a URL (checked with the gateway's own schema,
// shared/gateway/admin-alerts.ts WebhookUrl), see its signing secret once, send a test, replace
// the secret, delete, and read the delivery log (status, attempts, last error, next retry).
// A failed save keeps the URL typed; the gateway's refusal is shown in the user's language.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { WebhookCreateRequest, type WebhookDeliveryView, type WebhookView } from '../../../../../shared/gateway/admin-alerts';
import { formatDateTime } from '../../../i18n/format';
import { adminCall, adminFailure, type AdminCall, type AdminFailure } from '../admin-api';
import type { Permission } from '../../../../../shared/gateway/permissions';

/** The console's section props (sections.ts SectionProps; not imported: sections.ts imports this file). */
interface SectionProps {
  can: (permission: Permission) => boolean;
}

const URL_PROBLEMS: ReadonlySet<string> = new Set(['invalid', 'not_https', 'credentials', 'private_target', 'too_long']);

export function WebhooksSection({ call = adminCall }: SectionProps & { call?: AdminCall }) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const [hooks, setHooks] = useState<WebhookView[] | null>(null);
  const [url, setUrl] = useState('');
  const [urlProblem, setUrlProblem] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<AdminFailure | null>(null);
  const [secret, setSecret] = useState<{ hookId: string; value: string } | null>(null);
  const [confirm, setConfirm] = useState<{ hookId: string; action: 'rotate' | 'remove' } | null>(null);
  const [log, setLog] = useState<{ hookId: string; deliveries: WebhookDeliveryView[] } | null>(null);
  const [notice, setNotice] = useState('');
  const secretBox = useRef<HTMLDivElement>(null);
  const urlInput = useRef<HTMLInputElement>(null);
  const confirmBox = useRef<HTMLDivElement>(null);
  const returnFocus = useRef<HTMLElement | null>(null);

  const load = useCallback(async () => {
    setFailure(null);
    try {
      setHooks((await call('listWebhooks')).webhooks);
    } catch (err) {
      setFailure(adminFailure(err, 'loading webhooks'));
    }
  }, [call]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    if (secret) secretBox.current?.focus();
  }, [secret]);
  useEffect(() => {
    if (confirm) confirmBox.current?.querySelector('button')?.focus();
  }, [confirm]);

  const showFailure = (err: unknown, what: string) => {
    const f = adminFailure(err, what);
    const problem = f.code === 'validation_failed' ? f.violations.find((v) => URL_PROBLEMS.has(v)) : undefined;
    if (problem) setUrlProblem(problem);
    else setFailure(f);
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const parsed = WebhookCreateRequest.safeParse({ url });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const problem = (issue?.code === 'custom' && (issue.params as { problem?: string } | undefined)?.problem) || 'invalid';
      setUrlProblem(problem);
      urlInput.current?.focus();
      return;
    }
    setUrlProblem(null);
    setSaving(true);
    try {
      const res = await call('createWebhook', { body: parsed.data });
      setHooks((h) => [...(h ?? []), res.webhook]);
      returnFocus.current = urlInput.current;
      setSecret({ hookId: res.webhook.id, value: res.secret });
      setUrl('');
    } catch (err) {
      showFailure(err, 'creating a webhook'); // the URL stays as typed
    } finally {
      setSaving(false);
    }
  };

  const secretDone = () => {
    setSecret(null);
    (returnFocus.current ?? urlInput.current)?.focus();
  };

  const act = async (hook: WebhookView, action: 'test' | 'rotate' | 'remove' | 'log', opener?: HTMLElement | null) => {
    setFailure(null);
    setNotice('');
    try {
      if (action === 'test') {
        await call('testWebhook', { params: { id: hook.id } });
        setNotice(t('admin.webhooks.testQueued'));
      } else if (action === 'rotate') {
        const res = await call('rotateWebhookSecret', { params: { id: hook.id } });
        setHooks((h) => h?.map((x) => (x.id === hook.id ? res.webhook : x)) ?? h);
        returnFocus.current = opener ?? null;
        setSecret({ hookId: hook.id, value: res.secret });
      } else if (action === 'remove') {
        await call('deleteWebhook', { params: { id: hook.id } });
        setHooks((h) => h?.filter((x) => x.id !== hook.id) ?? h);
        if (log?.hookId === hook.id) setLog(null);
        urlInput.current?.focus();
      } else {
        setLog({ hookId: hook.id, deliveries: (await call('listWebhookDeliveries', { params: { id: hook.id } })).deliveries });
      }
    } catch (err) {
      showFailure(err, `webhook ${action}`);
    }
  };

  const when = (at: string | null) => (at ? formatDateTime(at, i18n.language) : t('admin.webhooks.never'));

  return (
    <section className="admin-webhooks" aria-labelledby={`${id}-h`} data-testid="webhooks-section">
      <h2 id={`${id}-h`}>{t('admin.webhooks.heading')}</h2>
      <p className="note">{t('admin.webhooks.help')}</p>
      <form onSubmit={(e) => void create(e)} noValidate data-testid="webhook-form">
        <label htmlFor={`${id}-url`}>{t('admin.webhooks.url')}</label>
        <input
          id={`${id}-url`}
          ref={urlInput}
          type="url"
          inputMode="url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-describedby={`${id}-url-hint${urlProblem ? ` ${id}-url-err` : ''}`}
          aria-invalid={urlProblem ? true : undefined}
          data-testid="webhook-url"
        />
        <span id={`${id}-url-hint`} className="note">{t('admin.webhooks.urlHint')}</span>
        {urlProblem && <p id={`${id}-url-err`} className="error" role="alert" data-testid="webhook-url-error">{t(`admin.webhooks.urlProblems.${urlProblem}`)}</p>}
        <button type="submit" disabled={saving} data-testid="webhook-create">{saving ? t('admin.webhooks.creating') : t('admin.webhooks.create')}</button>
      </form>
      {secret && (
        <div className="card webhook-secret" role="region" aria-labelledby={`${id}-secret-h`} tabIndex={-1} ref={secretBox} data-testid="webhook-secret-box">
          <h3 id={`${id}-secret-h`}>{t('admin.webhooks.secretHeading')}</h3>
          <p className="note">{t('admin.webhooks.secretHelp')}</p>
          <code data-testid="webhook-secret">{secret.value}</code>
          <button type="button" onClick={secretDone} data-testid="webhook-secret-done">{t('admin.webhooks.secretDone')}</button>
        </div>
      )}
      {failure && <p role="alert" className="error" data-testid="webhooks-error">{t(`admin.errors.${failure.code}`)}</p>}
      <p role="status" aria-live="polite" className="note" data-testid="webhooks-notice">{notice}</p>
      {hooks && hooks.length === 0 && <p className="note" data-testid="webhooks-none">{t('admin.webhooks.none')}</p>}
      {hooks && hooks.length > 0 && (
        <table data-testid="webhooks-table">
          <caption className="visually-hidden">{t('admin.webhooks.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('admin.webhooks.url')}</th>
              <th scope="col">{t('admin.webhooks.created')}</th>
              <th scope="col">{t('admin.webhooks.rotated')}</th>
              <th scope="col">{t('admin.webhooks.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {hooks.map((h) => (
              <tr key={h.id} data-testid="webhook-row" data-url={h.url}>
                <th scope="row" data-testid="webhook-row-url">{h.url}</th>
                <td>{when(h.createdAt)}</td>
                <td>{when(h.rotatedAt)}</td>
                <td>
                  <button type="button" onClick={() => void act(h, 'test')} data-testid="webhook-test" aria-label={`${t('admin.webhooks.test')}: ${h.url}`}>{t('admin.webhooks.test')}</button>{' '}
                  <button type="button" onClick={(e) => void act(h, 'log', e.currentTarget)} data-testid="webhook-deliveries" aria-label={`${t('admin.webhooks.deliveries')}: ${h.url}`}>{t('admin.webhooks.deliveries')}</button>{' '}
                  <button type="button" onClick={(e) => { returnFocus.current = e.currentTarget; setConfirm({ hookId: h.id, action: 'rotate' }); }} data-testid="webhook-rotate" aria-label={`${t('admin.webhooks.rotate')}: ${h.url}`}>{t('admin.webhooks.rotate')}</button>{' '}
                  <button type="button" onClick={(e) => { returnFocus.current = e.currentTarget; setConfirm({ hookId: h.id, action: 'remove' }); }} data-testid="webhook-delete" aria-label={`${t('admin.webhooks.remove')}: ${h.url}`}>{t('admin.webhooks.remove')}</button>
                  {confirm?.hookId === h.id && (
                    <div role="alertdialog" aria-labelledby={`${id}-confirm-${h.id}`} ref={confirmBox} data-testid="webhook-confirm">
                      <p id={`${id}-confirm-${h.id}`}>{t(confirm.action === 'rotate' ? 'admin.webhooks.rotateConfirm' : 'admin.webhooks.removeConfirm')}</p>
                      <button type="button" data-testid="webhook-confirm-yes" onClick={() => { const a = confirm.action; setConfirm(null); void act(h, a, returnFocus.current); }}>
                        {t('admin.common.confirm')}
                      </button>{' '}
                      <button type="button" data-testid="webhook-confirm-no" onClick={() => { setConfirm(null); returnFocus.current?.focus(); }}>{t('admin.webhooks.cancel')}</button>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {log && (
        <div data-testid="webhook-log">
          <table>
            <caption>{t('admin.webhooks.deliveriesCaption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('admin.webhooks.event')}</th>
                <th scope="col">{t('admin.webhooks.deliveryStatus')}</th>
                <th scope="col">{t('admin.webhooks.attempts')}</th>
                <th scope="col">{t('admin.webhooks.lastError')}</th>
                <th scope="col">{t('admin.webhooks.nextRetry')}</th>
              </tr>
            </thead>
            <tbody>
              {log.deliveries.map((d) => (
                <tr key={d.id} data-testid="delivery-row" data-status={d.status}>
                  <th scope="row">{t(`admin.webhooks.events.${d.event}`, { defaultValue: d.event })}<br /><span className="note">{formatDateTime(d.createdAt, i18n.language)}</span></th>
                  <td data-testid="delivery-status">{t(`admin.webhooks.statuses.${d.status}`)}</td>
                  <td data-testid="delivery-attempts">{d.attempts.toLocaleString(i18n.language === 'ja' ? 'ja-JP' : 'en-GB')}</td>
                  <td data-testid="delivery-error">{d.lastError ?? ''}</td>
                  <td data-testid="delivery-next">{d.nextAttemptAt ? formatDateTime(d.nextAttemptAt, i18n.language) : t('admin.webhooks.never')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {log.deliveries.length === 0 && <p className="note">{t('admin.webhooks.noDeliveries')}</p>}
          <button type="button" onClick={() => setLog(null)} data-testid="webhook-log-close">{t('admin.webhooks.hideDeliveries')}</button>
        </div>
      )}
    </section>
  );
}
