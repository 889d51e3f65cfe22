import { describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../main/ipc/dispatcher';
import { createHandlers } from '../../../main/services';
import { channelTable } from '../../../shared/ipc/contract';
import { APP_ORIGIN, APP_SENDER, makeServices, recordingLogger, signedInAs } from '../helpers';

describe('IPC guard while locked', () => {
  it('refuses token and customer-data channels while main says Koe is locked, and serves them again after unlock', async () => {
    const s = await makeServices();
    signedInAs(s); // what the lock guards
    const dispatch = createDispatcher(createHandlers(s), APP_ORIGIN, recordingLogger().log, () => s.lock.current().locked);
    expect(await dispatch(APP_SENDER, 'session:accessToken', {})).toEqual({ ok: true, value: null });
    s.lock.lock('idle');
    expect(await dispatch(APP_SENDER, 'session:accessToken', {})).toMatchObject({ ok: false, error: { code: 'locked' } });
    // Channels the lock screen itself needs keep working.
    expect(await dispatch(APP_SENDER, 'lock:state', {})).toMatchObject({ ok: true, value: { locked: true } });
    s.lock.unlock();
    expect(await dispatch(APP_SENDER, 'session:accessToken', {})).toEqual({ ok: true, value: null });
  });

  it('marks every token channel as refused while locked in the contract', () => {
    expect(channelTable.get('session:accessToken')?.whileLocked).toBe('refuse');
    expect(channelTable.get('lock:unlock')?.whileLocked).toBe('allow');
  });
});
