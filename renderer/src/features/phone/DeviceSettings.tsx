import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { bestEffort } from '../../log';
import { useTelephony } from './Telephony';

interface Device {
  deviceId: string;
  label: string;
}

/** Microphone and speaker choice, kept by main as a user preference. */
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
      <label htmlFor="dev-out">{t('devices.speaker')}</label>
      <select id="dev-out" value={chosen.outputDeviceId ?? ''} onChange={(e) => change({ outputDeviceId: e.target.value || null })}>
        <option value="">{t('devices.default')}</option>
        {outputs.map((d, i) => (
          <option key={d.deviceId || i} value={d.deviceId}>
            {d.label || t('devices.unnamed', { n: i + 1 })}
          </option>
        ))}
      </select>
    </section>
  );
}
