import { readFile } from 'node:fs/promises';
import { logFailure } from '../best-effort';
import type { Logger } from '../ipc/dispatcher';

/**
 * The root of trust shipped with the app (update-root.json, made by `npm run release:sign -- root
 * --embed build/update-root.json` at the key ceremony, packed as an extra resource). It is trusted
 * because the app itself is signed and installed by IT; a build without one has updates off.
 */
export async function loadTrustRoot(file: string, log: Logger): Promise<Uint8Array | null> {
  try {
    return await readFile(file);
  } catch (err) {
    // no root in this build: updates stay off (UpdateService reports unconfigured: trustRoot), said once in the log
    logFailure(log, 'reading the update root of trust', err, { file });
    return null;
  }
}
