// One real keychain (gnome-keyring), seen as separate PCs: each PC's entries live under its own
// service prefix, so e2e tests can sign one user in on "another PC" with the real keytar.
import type { KeytarLike } from '../../main/secrets/vault';

export function pcKeychain(keytar: KeytarLike, run: string, pc: string): KeytarLike {
  const svc = (s: string) => `${s} [${run} ${pc}]`;
  return {
    getPassword: (s, a) => keytar.getPassword(svc(s), a),
    setPassword: (s, a, p) => keytar.setPassword(svc(s), a, p),
    deletePassword: (s, a) => keytar.deletePassword(svc(s), a),
  };
}
