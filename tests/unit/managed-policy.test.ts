import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManagedPolicy, managedPolicyPath, parseManagedPolicy } from '../../main/managed-policy';

describe('managedPolicyPath', () => {
  it.each([
    ['linux', {}, '/etc/koe/policy.json'],
    ['freebsd', {}, '/etc/koe/policy.json'],
    ['win32', { ProgramData: 'D:\\ProgramData' }, 'D:\\ProgramData\\Koe\\policy.json'],
    ['win32', {}, 'C:\\ProgramData\\Koe\\policy.json'],
    ['darwin', {}, '/Library/Application Support/Koe/policy.json'],
    ['linux', { KOE_POLICY_FILE: '/tmp/p.json' }, '/tmp/p.json'],
    ['win32', { KOE_POLICY_FILE: 'C:\\t\\p.json', ProgramData: 'D:\\PD' }, 'C:\\t\\p.json'],
    ['darwin', { KOE_POLICY_FILE: '/tmp/p.json' }, '/tmp/p.json'],
  ])('%s %j -> %s', (platform, env, expected) => {
    expect(managedPolicyPath(platform, env)).toBe(expected);
  });

  it('ignores HOME and other per-user locations (a user cannot plant the machine policy)', () => {
    expect(managedPolicyPath('linux', { HOME: '/home/op', XDG_CONFIG_HOME: '/home/op/.config' })).toBe('/etc/koe/policy.json');
    expect(managedPolicyPath('darwin', { HOME: '/Users/op' })).toBe('/Library/Application Support/Koe/policy.json');
  });
});

describe('parseManagedPolicy', () => {
  const FILE = '/etc/koe/policy.json';

  it.each([
    ['{}', {}],
    ['{"language":"en"}', { language: 'en' }],
    ['{"idleTimeoutSeconds":120,"contentProtection":false}', { idleTimeoutSeconds: 120, contentProtection: false }],
    ['{"gatewayUrl":"https://gw.koe.example"}', { gatewayUrl: 'https://gw.koe.example' }],
    ['{"iceServers":[{"urls":"turn:t.koe.example","username":"u","credential":"c"}]}', { iceServers: [{ urls: 'turn:t.koe.example', username: 'u', credential: 'c' }] }],
    ['{"updates":"auto","updateUrl":"https://updates.koe.example/feed/","pinnedVersion":"1.4.0-beta.2"}', { updates: 'auto', updateUrl: 'https://updates.koe.example/feed/', pinnedVersion: '1.4.0-beta.2' }],
    ['{"updateUrl":"http://127.0.0.1:8080/feed/"}', { updateUrl: 'http://127.0.0.1:8080/feed/' }],
  ])('%s manages exactly the keys it sets: %j', (text, policy) => {
    // No zod defaults for keys the file did not set: each would count as "managed" and lock the user out of it.
    expect(parseManagedPolicy(text, FILE)).toEqual({ ok: true, policy, path: FILE });
  });

  it('a file setting one key leaves the other keys unmanaged', () => {
    const res = parseManagedPolicy('{"updateChannel":"beta"}', FILE);
    expect(res.ok && Object.keys(res.policy)).toEqual(['updateChannel']);
  });

  it('says the file is not valid JSON', () => {
    const res = parseManagedPolicy('{"language": "en",', FILE);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.message).toMatch(/not valid JSON/);
    expect(!res.ok && res.message).toContain(FILE);
  });

  it.each([
    ['{"idleTimeoutSeconds":"5"}', 'idleTimeoutSeconds'],
    ['{"idleTimeoutSeconds":5}', 'idleTimeoutSeconds'],
    ['{"language":"fr"}', 'language'],
    ['{"gatewayUrl":"ftp://gw.koe.example"}', 'gatewayUrl'],
    ['{"sipWssUrl":"https://sip.koe.example"}', 'sipWssUrl'],
    ['{"updates":"silent"}', 'updates'],
    ['{"updateUrl":"http://updates.koe.example/feed/"}', 'updateUrl'],
    ['{"pinnedVersion":"1.4"}', 'pinnedVersion'],
    ['{"contentProtection":"yes"}', 'contentProtection'],
    ['{"iceServers":[{"urls":""}]}', 'iceServers.0.urls'],
    ['{"telemetry":true}', 'telemetry'],
    ['{"language":"en","allowDevTools":true}', 'allowDevTools'],
  ])('%s is refused with a message naming %s', (text, key) => {
    const res = parseManagedPolicy(text, FILE);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.message).toContain(`"${key}"`);
  });

  it.each(['[]', 'null', '"x"', '42'])('refuses a non-object file %s', (text) => {
    expect(parseManagedPolicy(text, FILE).ok).toBe(false);
  });
});

describe('loadManagedPolicy', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-policy-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing file is an empty policy, not an error', async () => {
    const file = path.join(dir, 'missing.json');
    expect(await loadManagedPolicy('linux', { KOE_POLICY_FILE: file })).toEqual({ ok: true, policy: {}, path: file });
  });

  it('reads and parses the file named by KOE_POLICY_FILE', async () => {
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ language: 'en', idleTimeoutSeconds: 60 }));
    expect(await loadManagedPolicy('linux', { KOE_POLICY_FILE: file })).toEqual({
      ok: true,
      policy: { language: 'en', idleTimeoutSeconds: 60 },
      path: file,
    });
  });

  it('an invalid file is an error, not silently ignored', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, '{"idleTimeoutSeconds":"5"}');
    const res = await loadManagedPolicy('linux', { KOE_POLICY_FILE: file });
    expect(res.ok).toBe(false);
    expect(!res.ok && res.message).toContain('idleTimeoutSeconds');
  });

  it('an unreadable path (a directory) is an error, not an empty policy', async () => {
    const res = await loadManagedPolicy('linux', { KOE_POLICY_FILE: dir });
    expect(res.ok).toBe(false);
  });
});
