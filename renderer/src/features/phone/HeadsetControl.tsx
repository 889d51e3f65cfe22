// The USB headset (issue 18 item 8): connects a headset this PC already allowed at start, or
// one the operator picks ("Connect headset"); its buttons run the same actions as the keyboard
// shortcuts (answer, hang up, mute: refused where the on-screen button is), and its lights show
// the call (ringing, off-hook, muted). Only the policy's headset vendors (main enforces it too).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { headsetAction, type HeadsetEvent } from '../../../../shared/rules/hid-telephony';
import { useAppStore } from '../../app/app-store';
import { requestShortcutAction } from '../../app/shortcut-props';
import { logFailure } from '../../log';
import { openHeadset, webHid, type Headset, type HeadsetFailure, type HidLike } from './headset';
import { liveCalls, usePhoneStore, type PhoneCall } from './phone-store';

type Status = { kind: 'none' } | { kind: 'connected'; name: string } | { kind: 'failed'; failure: HeadsetFailure } | { kind: 'disconnected' };

function phoneNow(calls: PhoneCall[]) {
  const live = liveCalls(calls);
  const inCall = live.some((c) => c.phase === 'established' || c.phase === 'dialing');
  return {
    ringing: live.some((c) => c.phase === 'ringing'),
    inCall,
    muted: live.some((c) => c.phase === 'established' && c.muted),
  };
}

export function HeadsetControl({ hid = webHid() }: { hid?: HidLike | null }) {
  const { t } = useTranslation();
  const vendorIds = useAppStore((s) => s.policy?.policy.headsetVendorIds) ?? [];
  const [status, setStatus] = useState<Status>({ kind: 'none' });
  const headset = useRef<Headset | null>(null);
  const vendorKey = vendorIds.join(',');

  const onEvent = (event: HeadsetEvent) => {
    const action = headsetAction(event, phoneNow(usePhoneStore.getState().calls));
    if (action) requestShortcutAction(action);
  };

  const connect = async (prompt: boolean) => {
    try {
      const r = await openHeadset(hid, vendorIds, prompt, onEvent);
      if ('failure' in r) {
        // at start, no allowed headset is simply none; a pick that fails is said
        setStatus(prompt ? { kind: 'failed', failure: r.failure } : { kind: 'none' });
        return;
      }
      await headset.current?.close();
      headset.current = r.headset;
      setStatus({ kind: 'connected', name: r.headset.name });
      const p = phoneNow(usePhoneStore.getState().calls);
      await r.headset.setLights({ ring: p.ringing, offHook: p.inCall, mute: p.muted });
    } catch (err) {
      logFailure('connecting the headset', err);
      setStatus({ kind: 'failed', failure: 'open_failed' });
    }
  };

  // a headset this PC already allowed, at start (and again if the policy's vendors change)
  useEffect(() => {
    void connect(false);
    const onDisconnect = () => {
      headset.current = null;
      setStatus({ kind: 'disconnected' });
    };
    hid?.addEventListener('disconnect', onDisconnect);
    return () => {
      hid?.removeEventListener('disconnect', onDisconnect);
      void headset.current?.close().catch((err) => logFailure('closing the headset', err));
      headset.current = null;
    };
    // connect reads the vendors of this render
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hid, vendorKey]);

  // the lights follow the calls
  useEffect(
    () =>
      usePhoneStore.subscribe((s, prev) => {
        if (s.calls === prev.calls || !headset.current) return;
        const p = phoneNow(s.calls);
        headset.current.setLights({ ring: p.ringing, offHook: p.inCall, mute: p.muted }).catch((err) => logFailure('setting the headset lights', err));
      }),
    [],
  );

  if (!hid || vendorIds.length === 0) {
    return (
      <p className="note" data-testid="headset-status" data-status="unsupported">
        {vendorIds.length === 0 ? t('headset.offByPolicy') : t('headset.unsupported')}
      </p>
    );
  }
  return (
    <div className="headset" data-testid="headset">
      <p className="note" data-testid="headset-status" data-status={status.kind}>
        {status.kind === 'connected'
          ? t('headset.connected', { name: status.name })
          : status.kind === 'failed'
            ? t(`headset.failed.${status.failure}`)
            : status.kind === 'disconnected'
              ? t('headset.disconnected')
              : t('headset.none')}
      </p>
      {status.kind !== 'connected' && (
        <button type="button" className="secondary" data-testid="headset-connect" onClick={() => void connect(true)}>
          {t('headset.connect')}
        </button>
      )}
    </div>
  );
}
