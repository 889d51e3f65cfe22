import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bestEffort } from '../../log';
import { MicTest } from './MicTest';
import { useTelephony } from './Telephony';

interface Device {
  deviceId: string;
  label: string;
}

/** Microphone, speaker and ringer choice, kept by main as a user preference; changing them mid-call keeps the call. */
export function DeviceSettings() {
  const { t } = useTranslation();
  const telephony = useTelephony();
  const [inputs, setInputs] = useState<Device[]>([]);
  const [outputs, setOutputs] = useState<Device[]>([]);
  const [chosen, setChosen] = useState(telephony.currentDevices());

  useEffect(() => {
    const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!md?.enumerateDevices) return;
    const load = () =>
      void bestEffort('listing the audio devices to choose from', async () => {
        const list = await md.enumerateDevices();
        setInputs(list.filter((d) => d.kind === 'audioinput').map((d) => ({ deviceId: d.deviceId, label: d.label })));
        setOutputs(list.filter((d) => d.kind === 'audiooutput').map((d) => ({ deviceId: d.deviceId, label: d.label })));
      });
    load();
    md.addEventListener?.('devicechange', load);
    return () => md.removeEventListener?.('devicechange', load);
  }, []);

  const change = (patch: Partial<typeof chosen>) => {
    const next = { ...chosen, ...patch };
    setChosen(next);
    void telephony.setDevices(next);
  };

  return (
    <section className="card devices" data-testid="device-settings" aria-labelledby="dev-h">
      <h2 id="dev-h">{t('devices.heading')}</h2>
      <label htmlFor="dev-in">{t('devices.microphone')}</label>
      <select id="dev-in" value={chosen.inputDeviceId ?? ''} onChange={(e) => change({ inputDeviceId: e.target.value || null })}>
        <option value="">{t('devices.default')}</option>
        {inputs.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || t('devices.unnamed', { n: i + 1 })}
          </option>
        ))}
      </select>
      <MicTest deviceId={chosen.inputDeviceId} />
      <label htmlFor="dev-out">{t('devices.speaker')}</label>
      <select id="dev-out" value={chosen.outputDeviceId ?? ''} onChange={(e) => change({ outputDeviceId: e.target.value || null })}>
        <option value="">{t('devices.default')}</option>
        {outputs.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || t('devices.unnamed', { n: i + 1 })}
          </option>
        ))}
      </select>
      <label htmlFor="dev-ring">{t('audio.ringer')}</label>
      <select
        id="dev-ring"
        data-testid="ringer-device"
        aria-describedby="dev-ring-hint"
        value={chosen.ringerDeviceId ?? ''}
        onChange={(e) => change({ ringerDeviceId: e.target.value || null })}
      >
        <option value="">{t('audio.ringerSameAsSpeaker')}</option>
        {/* Chromium lists its "default" output; a system that does not still gets the choice */}
        {!outputs.some((d) => d.deviceId === 'default') && <option value="default">{t('audio.systemDefault')}</option>}
        {outputs.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || t('devices.unnamed', { n: i + 1 })}
          </option>
        ))}
      </select>
      <p id="dev-ring-hint" className="note">
        {t('audio.ringerHint')}
      </p>
    </section>
  );
}
