// The microphone and the audio devices as this PC sees them: reported to the gateway (no
// microphone: no calls offered), probed before answering or dialling (a failed answer would lose
// the call), and the browser's media failures turned into the codes the operator is shown.
import { logFailure } from '../../log';
import type { AudioDevices } from '../../../../shared/ipc/contract';
import { report } from './calls';
import { usePhoneStore } from './phone-store';
import { PhoneFailure, type PhoneErrorCode } from './sip-phone';

export type { AudioDevices };

/** Where the ringtone plays: the ringer device, or the call's speaker when none was chosen. */
export function ringerSink(devices: AudioDevices): string | null {
  return devices.ringerDeviceId ?? devices.outputDeviceId;
}

export class Microphone {
  /** The devices chosen (main keeps them as a user preference). */
  devices: AudioDevices = { inputDeviceId: null, outputDeviceId: null };
  /** What the gateway was last told (null: nothing yet this session). */
  private reported: boolean | null = null;

  /** The microphone as this PC sees it: shown, and reported to the gateway when it changes. */
  set(available: boolean): void {
    usePhoneStore.setState({ microphone: available });
    if (this.reported === available) return;
    this.reported = available;
    report({ kind: 'microphone', available });
  }

  /** The session ended or the phone stopped: the next session reports afresh. */
  reset(): void {
    this.reported = null;
  }

  /** Is there an audio input? (enumerateDevices lists one even before the permission is granted.) */
  async check(): Promise<boolean | null> {
    const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!md?.enumerateDevices) return null;
    try {
      const list = await md.enumerateDevices();
      const available = list.some((d) => d.kind === 'audioinput');
      this.set(available);
      return available;
    } catch (err) {
      logFailure('listing the audio devices', err);
      return null;
    }
  }

  /** The browser's getUserMedia failure -> our code; a missing device is reported to the gateway. */
  mediaError(err: unknown): PhoneErrorCode | null {
    const name = err instanceof Error || (typeof DOMException !== 'undefined' && err instanceof DOMException) ? (err as Error).name : '';
    if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') {
      this.set(false);
      return 'no_microphone';
    }
    if (name === 'NotAllowedError' || name === 'SecurityError') return 'microphone_denied';
    return null;
  }

  /** Any failure of a phone action -> the code the operator is shown (never the error's text). */
  errorCode(err: unknown): PhoneErrorCode {
    if (err instanceof PhoneFailure) return err.code;
    const media = this.mediaError(err);
    if (media) return media;
    logFailure('a phone action', err);
    return 'unexpected';
  }

  /** Opens the microphone once (then closes it): answering without one would lose the call. */
  async probe(): Promise<void> {
    if (usePhoneStore.getState().microphone === false) throw new PhoneFailure('no_microphone');
    const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!md?.getUserMedia) return;
    const audio = this.devices.inputDeviceId ? { deviceId: { exact: this.devices.inputDeviceId } } : true;
    let stream: MediaStream;
    try {
      stream = await md.getUserMedia({ audio, video: false });
    } catch (err) {
      const code = this.mediaError(err);
      if (code) throw new PhoneFailure(code);
      throw err;
    }
    for (const track of stream.getTracks()) track.stop();
    if (usePhoneStore.getState().microphone !== true) this.set(true);
  }
}
