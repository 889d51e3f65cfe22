// Correcting a saved note (issue 18 item 5): direct calls to the gateway, like the customer
// workspace's, with the short-lived access token main hands out. Not queued in main's outbox:
// an edit only counts against the version the operator saw and within the org's edit window, so
// one sent later (after the window, after another change) would mostly be refused with nobody
// looking at it. Offline, the edit is refused at once and the typed text stays in the editor
// (NoteEdit.tsx) to be saved again once the gateway answers.
import { accessToken, gatewayClient } from '../../gateway';
import { GatewayCallError } from '../../../../shared/gateway-client';
import type { NoteView } from '../../../../shared/gateway/crm';
import { logFailure } from '../../log';
import { useCustomerStore, type StoredNote } from './store';

/** Why an edit was not saved, as the editor says it. */
export type EditRefusal = 'expired' | 'closed' | 'conflict' | 'not_found' | 'forbidden' | 'offline' | 'invalid' | 'failed';

/** The gateway's note -> what an item keeps of it (its text is the item's body). */
export function storedOf(n: NoteView): StoredNote {
  return { id: n.id, authorId: n.authorId, version: n.version, open: n.open, createdAt: n.createdAt, editedAt: n.editedAt };
}

/** Replaces the note's text if the gateway still has `version` and its policy allows it; the note as stored (card numbers masked). */
export async function editNoteBody(noteId: string, body: string, version: number): Promise<NoteView> {
  return gatewayClient.call('editNote', { accessToken: await accessToken(), params: { id: noteId }, body: { body, version } });
}

/** The note as the gateway has it now (after a conflict or a refusal: its text, version and state). */
export async function currentNote(noteId: string): Promise<NoteView> {
  return (await gatewayClient.call('noteEdits', { accessToken: await accessToken(), params: { id: noteId } })).note;
}

/** The gateway's refusal as the editor explains it. */
export function editRefusalOf(err: unknown): EditRefusal {
  if (!(err instanceof GatewayCallError)) return 'failed';
  switch (err.code) {
    case 'edit_window_expired':
      return 'expired';
    case 'note_closed':
      return 'closed';
    case 'conflict':
      return 'conflict';
    case 'not_found':
      return 'not_found';
    case 'forbidden':
      return 'forbidden';
    case 'validation_failed':
      return 'invalid';
    case 'unreachable':
    case 'unavailable':
      return 'offline';
    default:
      return err.status === null ? 'offline' : 'failed';
  }
}

/** Reads the org's note editing policy into the customer store (a failure: the defaults are assumed, the gateway still decides). */
export async function loadNotePolicy(): Promise<void> {
  useCustomerStore.setState({ notePolicyStatus: 'loading' });
  try {
    const notePolicy = await gatewayClient.call('notePolicy', { accessToken: await accessToken() });
    useCustomerStore.setState({ notePolicy, notePolicyStatus: 'ready' });
  } catch (err) {
    logFailure("reading the org's note policy", err);
    useCustomerStore.setState({ notePolicyStatus: 'failed' });
  }
}
