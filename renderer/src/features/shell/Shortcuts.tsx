// Keyboard first (issue 18 item 3): the shortcuts, the focus that never drops to the page, and
// the ringing announced once with the caller's name.
//
// One mechanism for every path: a shortcut (a key in the window, or main's global shortcut
// through the OS) presses the very control the mouse would, the last usable element marked
// data-shortcut="<action>". So it is refused exactly when the button is (disabled, or not on
// screen: the lock screen has no notes or transfer), and it does nothing the button does not.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { koe } from '../../koe';
import { SHORTCUT_ACTIONS, shortcutLabel, shortcutOf, type ShortcutAction } from '../../../../shared/rules/shortcuts';
import { usePhoneStore, liveCalls } from '../phone/phone-store';
import { useCustomerStore } from '../customer/store';
import { useAppStore } from '../../app/app-store';
import { OPEN_SHORTCUTS_EVENT } from './shortcut-events';
import { HEADSET_ACTION_EVENT } from '../../app/shortcut-props';
import { formatPhone } from '../../../../shared/rules/phone-format';

function usable(el: HTMLElement): boolean {
  if (!el.isConnected) return false;
  if ((el as HTMLButtonElement).disabled) return false;
  return !el.closest('[hidden], [inert], [aria-hidden="true"]');
}

/** The control a shortcut presses: the last usable one in the page (a consultation's over the held call's). */
export function shortcutTarget(action: ShortcutAction, root: ParentNode = document): HTMLElement | null {
  const all = [...root.querySelectorAll<HTMLElement>(`[data-shortcut~="${action}"]`)].filter(usable);
  return all.at(-1) ?? null;
}

/**
 * Where focus goes when the element that had it went away or was disabled (or after a
 * shortcut left it on the page): the lowest data-focus-home rank on screen, the last of that
 * rank. 1 the answer button, 2 the call, 3 the wrap-up, 4 the agent state, 9 the main area.
 */
export function focusHome(root: ParentNode = document): HTMLElement | null {
  const best = bestHome(root);
  best?.focus();
  return best;
}

function bestHome(root: ParentNode): HTMLElement | null {
  let best: HTMLElement | null = null;
  for (const el of root.querySelectorAll<HTMLElement>('[data-focus-home]')) {
    if (usable(el) && (!best || Number(el.dataset.focusHome) <= Number(best.dataset.focusHome))) best = el;
  }
  return best;
}

/** How long a focus the keeper placed may still move to a better home that appears (the wrap-up after the call). */
const SETTLE_MS = 3_000;

const onPage = () => !document.activeElement || document.activeElement === document.body;

/**
 * The shell's keyboard: the window's shortcut keys and main's global ones, the list (Ctrl+Alt+/),
 * and the focus keeper. Rendered once by the shell, inside <Telephony>.
 */
export function Shortcuts() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [notice, setNotice] = useState('');
  const homeAfterAction = useRef(0);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const run = (action: ShortcutAction): boolean => {
      if (action === 'help') {
        setOpen(true);
        return true;
      }
      const el = shortcutTarget(action);
      if (!el) {
        setNotice(t('shortcuts.unavailable', { action: t(`shortcuts.action.${action}`) }));
        return false;
      }
      setNotice('');
      homeAfterAction.current = Date.now() + 2_000;
      if (el instanceof HTMLButtonElement) el.click();
      else el.focus();
      return true;
    };
    const onKey = (e: KeyboardEvent) => {
      const action = shortcutOf({ code: e.code, ctrlKey: e.ctrlKey, altKey: e.altKey, shiftKey: e.shiftKey, metaKey: e.metaKey, repeat: e.repeat, isComposing: e.isComposing, altGraph: e.getModifierState?.('AltGraph') });
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      run(action);
    };
    window.addEventListener('keydown', onKey, true);
    const openList = () => setOpen(true);
    window.addEventListener(OPEN_SHORTCUTS_EVENT, openList);
    const off = koe().on('shortcut:pressed', ({ action }) => void run(action));
    // a headset's answer / hang-up / mute button (features/phone/HeadsetControl.tsx): the same path
    const onHeadset = (e: Event) => {
      const action = (e as CustomEvent<{ action?: unknown }>).detail?.action;
      if (action === 'answer' || action === 'hangup' || action === 'mute') run(action);
    };
    window.addEventListener(HEADSET_ACTION_EVENT, onHeadset);

    // The focus keeper: focus that was on an element which went away or was disabled (an
    // answered ring, a hung-up call, a pressed button) moves to the focus home, never to the page.
    let last: HTMLElement | null = null;
    const onFocusIn = (e: FocusEvent) => {
      if (e.target instanceof HTMLElement && e.target !== document.body) last = e.target;
    };
    let queued = false;
    // where the keeper put the focus, while the screen settles (the call goes, then the wrap-up comes)
    let placed: { el: HTMLElement; until: number } | null = null;
    const check = () => {
      queued = false;
      if (placed && document.activeElement === placed.el && Date.now() < placed.until) {
        const better = bestHome(document);
        if (better && better !== placed.el && Number(better.dataset.focusHome) < Number(placed.el.dataset.focusHome)) {
          better.focus();
          placed = { el: better, until: placed.until };
        }
        return;
      }
      if (!onPage()) return;
      const lost = last !== null && !usable(last);
      if (lost || Date.now() < homeAfterAction.current) {
        const el = focusHome();
        if (el) placed = { el, until: Date.now() + SETTLE_MS };
      }
    };
    const observer = new MutationObserver(() => {
      if (queued) return;
      queued = true;
      queueMicrotask(check);
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled', 'hidden', 'inert'] });
    document.addEventListener('focusin', onFocusIn);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener(OPEN_SHORTCUTS_EVENT, openList);
      window.removeEventListener(HEADSET_ACTION_EVENT, onHeadset);
      off();
      observer.disconnect();
      document.removeEventListener('focusin', onFocusIn);
    };
  }, [t]);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
    }
    if (!open && d.open) {
      if (typeof d.close === 'function') d.close();
      else d.removeAttribute('open');
    }
  }, [open]);

  return (
    <>
      <p className="visually-hidden" aria-live="polite" data-testid="shortcut-notice">
        {notice}
      </p>
      <dialog ref={dialog} className="shortcuts" data-testid="shortcuts-list" aria-labelledby="shortcuts-h" onClose={() => setOpen(false)}>
        <h2 id="shortcuts-h">{t('shortcuts.heading')}</h2>
        <p>{t('shortcuts.intro')}</p>
        <table>
          <tbody>
            {SHORTCUT_ACTIONS.map((a) => (
              <tr key={a} data-testid={`shortcut-${a}`}>
                <th scope="row">
                  <kbd>{shortcutLabel(a)}</kbd>
                </th>
                <td>{t(`shortcuts.action.${a}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="note">{t('shortcuts.globalNote')}</p>
        <button type="button" data-testid="shortcuts-close" onClick={() => setOpen(false)}>
          {t('shortcuts.close')}
        </button>
      </dialog>
      <RingAnnouncer />
    </>
  );
}

const NAME_WAIT_MS = 800;

/**
 * Says a ring once, with the caller's name when the screen pop knows it (waiting for the pop at
 * most 0.8 s after the ringing panel, which itself waited for it: then the number), in an assertive live region. While locked: only that a call
 * rings, no name or number (customer data).
 */
function RingAnnouncer() {
  const { t } = useTranslation();
  const ringing = usePhoneStore((s) => liveCalls(s.calls).find((c) => c.direction === 'inbound' && c.phase === 'ringing') ?? null);
  const pop = useCustomerStore((s) => (ringing ? s.pops[ringing.sipCallId] : undefined));
  const [text, setText] = useState('');
  const said = useRef(new Set<string>());
  const [waited, setWaited] = useState<string | null>(null);
  const locked = useAppStore((s) => s.lock.locked);

  useEffect(() => {
    if (!ringing || said.current.has(ringing.id)) return;
    if (pop?.status === 'loading' && waited !== ringing.id && !locked) {
      const id = setTimeout(() => setWaited(ringing.id), NAME_WAIT_MS);
      return () => clearTimeout(id);
    }
    said.current.add(ringing.id);
    const customers = pop?.status === 'ready' ? pop.pop.customers : [];
    const campaign = pop?.status === 'ready' ? pop.pop.campaign?.name : undefined;
    const only = customers.length === 1 ? customers[0] : undefined;
    setText(
      locked
        ? t('shortcuts.ring.locked')
        : only
          ? campaign
            ? t('shortcuts.ring.namedCampaign', { name: only.nameKanji, campaign })
            : t('shortcuts.ring.named', { name: only.nameKanji })
          : ringing.remote
            ? t('shortcuts.ring.number', { number: formatPhone(ringing.remote, { style: 'national' }) })
            : t('shortcuts.ring.anonymous'),
    );
    return undefined;
  }, [ringing, pop, waited, locked, t]);

  // the text goes with the ring: a later reader finds no caller in the page
  useEffect(() => {
    if (!ringing) setText('');
  }, [ringing]);

  return (
    <div className="visually-hidden" aria-live="assertive" aria-atomic="true" data-testid="ring-announcement">
      {text}
    </div>
  );
}
