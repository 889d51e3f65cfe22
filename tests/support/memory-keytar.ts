import type { KeytarLike } from '../../main/secrets/vault';

/** A keychain per page that forgets everything with the test: for tests about calls, not about secrets. */
export function memoryKeytar(): KeytarLike {
  const m = new Map<string, string>();
  return {
    getPassword: async (s, a) => m.get(`${s}/${a}`) ?? null,
    setPassword: async (s, a, p) => void m.set(`${s}/${a}`, p),
    deletePassword: async (s, a) => m.delete(`${s}/${a}`),
  };
}
