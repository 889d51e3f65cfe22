import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ClientPolicy } from '../shared/policy';
import type { ManagedPolicy } from './services/policy';

/** Where IT puts the machine-wide policy file, per OS. `KOE_POLICY_FILE` overrides it for tests and the dev host. */
export function managedPolicyPath(platform: string, env: Record<string, string | undefined>): string {
  if (env.KOE_POLICY_FILE) return env.KOE_POLICY_FILE;
  if (platform === 'win32') return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Koe', 'policy.json');
  if (platform === 'darwin') return '/Library/Application Support/Koe/policy.json';
  return '/etc/koe/policy.json';
}

/**
 * The managed file's schema: ClientPolicy's keys, each optional and WITHOUT its default, so a
 * file that sets one key manages that key only (zod's `.partial()` would still fill in defaults,
 * and every default would then count as managed and lock the user out of it).
 */
const managedShape: Record<string, z.ZodType> = {};
for (const [key, schema] of Object.entries(ClientPolicy.shape)) {
  managedShape[key] = (schema instanceof z.ZodDefault ? schema.unwrap() : schema).optional();
}
const ManagedPolicySchema = z.object(managedShape).strict();

export type ManagedPolicyResult = { ok: true; policy: ManagedPolicy; path: string } | { ok: false; message: string };

/** Parses the managed policy text. An invalid file stops the app with a message that names the bad key. */
export function parseManagedPolicy(text: string, file: string): ManagedPolicyResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Koe policy file ${file} is not valid JSON: ${(err as Error).message}` };
  }
  const parsed = ManagedPolicySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key =
      issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.length ? issue.path.join('.') : '(root)';
    return { ok: false, message: `Koe policy file ${file}: invalid key "${key}": ${issue.message}` };
  }
  const policy = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as ManagedPolicy;
  return { ok: true, policy, path: file };
}

export async function loadManagedPolicy(
  platform: string,
  env: Record<string, string | undefined>,
): Promise<ManagedPolicyResult> {
  const file = managedPolicyPath(platform, env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, policy: {}, path: file };
    return { ok: false, message: `Koe policy file ${file} cannot be read: ${(err as Error).message}` };
  }
  return parseManagedPolicy(text, file);
}
