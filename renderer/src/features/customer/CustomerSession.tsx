import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { useSessionStore, workspaceUserId } from '../../app/session-store';
import type { CustomerRecords } from './crm-service';
import { followWrapUp } from './wrap-up';

const RecordsContext = createContext<CustomerRecords | null>(null);

/** The notes and call updates queue of the <CustomerSession> above this component. */
export function useCustomerRecords(): CustomerRecords {
  const records = useContext(RecordsContext);
  if (!records) throw new Error('useCustomerRecords() outside <CustomerSession>');
  return records;
}

/**
 * The customer feature's work, outside the lockable views (like the phone): gives the views the
 * shell's CustomerRecords (notes and call updates, queued until the gateway confirms them, dropped
 * when the session ends); while signed in, the wrap-up draft follows the gateway's view (its timer
 * closes it even while locked), and what is queued goes out as soon as the network is back.
 */
export function CustomerSession({ records, children }: { records: CustomerRecords; children: ReactNode }) {
  const userId = useSessionStore((s) => workspaceUserId(s.session));

  useEffect(() => records.attach(), [records]);

  useEffect(() => {
    if (!userId) return;
    const stop = followWrapUp();
    const online = () => records.flush();
    window.addEventListener('online', online);
    return () => {
      stop();
      window.removeEventListener('online', online);
    };
  }, [userId, records]);

  return <RecordsContext.Provider value={records}>{children}</RecordsContext.Provider>;
}
