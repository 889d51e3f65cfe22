// `npm run release:sign` (scripts/release-sign.ts) end to end in temporary directories: the keys
// made, a root, a release from an artifact, a re-signed timestamp, a rotation; what it writes is
// what the app's verifier accepts, and what a client would refuse it refuses to write.
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReleaseSigned, TimestampSigned } from '../../../main/updates/metadata';
import { digestFile } from '../../../main/updates/release';
import { TrustedMetadata, UpdateRefusal } from '../../../main/updates/verify';
import { run, UsageError } from '../../../scripts/release-sign';
import { artifactBytes } from '../../support/update-feed';
import { tempDir } from '../helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const NOW = Date.parse('2026-12-01T00:00:00Z');

describe('release-sign', () => {
  it('keygen, root, release, timestamp: the feed verifies with the app’s verifier from the embedded root', async () => {
    const keys = tempDir('koe-keys-');
    const feed = tempDir('koe-feed-');
    const build = tempDir('koe-build-');
    dirs.push(keys, feed, build);
    const lines: string[] = [];
    const out = (l: string) => void lines.push(l);
    const k = (n: string) => path.join(keys, `${n}.pem`);
    for (const n of ['root1', 'root2', 'root3', 'release', 'timestamp']) await run(['keygen', '--out', k(n)], NOW, out);
    expect(fs.statSync(k('root1')).mode & 0o077).toBe(0);
    const embed = path.join(build, 'update-root.json');
    await run(
      ['root', '--feed', feed, '--expires-days', '365', '--root-key', `${k('root1')}.pub`, '--root-key', `${k('root2')}.pub`, '--root-key', `${k('root3')}.pub`, '--root-threshold', '2',
        '--release-key', `${k('release')}.pub`, '--release-threshold', '1', '--timestamp-key', `${k('timestamp')}.pub`, '--timestamp-threshold', '1', '--sign', k('root1'), '--sign', k('root3'), '--embed', embed],
      NOW,
      out,
    );
    const artifact = path.join(build, 'Koe-1.1.0.AppImage');
    fs.writeFileSync(artifact, artifactBytes('cli', 100_000));
    await run(['release', '--feed', feed, '--artifact', artifact, '--version', '1.1.0', '--channel', 'stable', '--platform', 'linux', '--arch', 'x64', '--min-version', '1.0.0', '--rollout', '0.25',
      '--expires-days', '30', '--sign', k('release'), '--timestamp-key', k('timestamp'), '--timestamp-hours', '24'], NOW, out);
    expect(fs.readdirSync(feed).sort()).toEqual(['1.release.json', '1.root.json', 'Koe-1.1.0.AppImage', 'timestamp.json']);

    const t = new TrustedMetadata(fs.readFileSync(embed), () => NOW + 3_600_000);
    t.finishRoot();
    t.updateTimestamp(fs.readFileSync(path.join(feed, 'timestamp.json')));
    t.updateRelease(fs.readFileSync(path.join(feed, '1.release.json')));
    expect(t.release!.targets).toEqual([{ channel: 'stable', platform: 'linux', arch: 'x64', version: '1.1.0', file: 'Koe-1.1.0.AppImage', ...(await digestFile(artifact)), minVersion: '1.0.0', rollout: 0.25 }]);

    // the daily timestamp: a new version for the same release, fresh expiry
    await run(['timestamp', '--feed', feed, '--timestamp-key', k('timestamp'), '--timestamp-hours', '24'], NOW + 20 * 3_600_000, out);
    const ts = TimestampSigned.parse(JSON.parse(fs.readFileSync(path.join(feed, 'timestamp.json'), 'utf8')).signed);
    expect(ts).toMatchObject({ version: 2, release: { version: 1 }, expires: '2026-12-02T20:00:00Z' });

    // a second release keeps the first (a pin to 1.1.0 stays possible)
    const second = path.join(build, 'Koe-1.2.0.AppImage');
    fs.writeFileSync(second, artifactBytes('cli2', 1000));
    await run(['release', '--feed', feed, '--artifact', second, '--version', '1.2.0', '--channel', 'stable', '--platform', 'linux', '--arch', 'x64', '--min-version', '1.0.0', '--rollout', '1',
      '--expires-days', '30', '--sign', k('release'), '--timestamp-key', k('timestamp'), '--timestamp-hours', '24'], NOW, out);
    const rel2 = ReleaseSigned.parse(JSON.parse(fs.readFileSync(path.join(feed, '2.release.json'), 'utf8')).signed);
    expect(rel2.targets.map((x) => x.version)).toEqual(['1.1.0', '1.2.0']);

    // a rotation signed by one old root key (threshold 2) would be refused by clients: not written
    const rotate = (signers: string[]) =>
      run(['root', '--feed', feed, '--expires-days', '365', '--root-key', `${k('root1')}.pub`, '--root-key', `${k('root2')}.pub`, '--root-key', `${k('root3')}.pub`, '--root-threshold', '2',
        '--release-key', `${k('release')}.pub`, '--release-threshold', '1', '--timestamp-key', `${k('timestamp')}.pub`, '--timestamp-threshold', '1', ...signers.flatMap((s) => ['--sign', k(s)])], NOW, out);
    await expect(rotate(['root1'])).rejects.toMatchObject({ code: 'root_threshold' } satisfies Partial<UpdateRefusal>);
    expect(fs.existsSync(path.join(feed, '2.root.json'))).toBe(false);
    await rotate(['root1', 'root2']);
    expect(fs.existsSync(path.join(feed, '2.root.json'))).toBe(true);
    expect(lines.some((l) => l.startsWith('root version 2 written'))).toBe(true);
  });

  it('refuses a key file inside the repository, and reads one from the environment', async () => {
    await expect(run(['keygen', '--out', path.join(process.cwd(), 'scripts', 'oops.pem')], NOW)).rejects.toBeInstanceOf(UsageError);
    expect(fs.existsSync(path.join(process.cwd(), 'scripts', 'oops.pem'))).toBe(false);
    const feed = tempDir('koe-feed-');
    dirs.push(feed);
    await expect(run(['root', '--feed', feed, '--expires-days', '1', '--root-key', 'package.json', '--root-threshold', '1'], NOW)).rejects.toThrow(/outside the repository/);
    await expect(run(['root', '--feed', feed, '--expires-days', '1', '--root-key', 'env:KOE_TEST_UNSET_KEY', '--root-threshold', '1'], NOW)).rejects.toThrow(/not set/);
    process.env.KOE_TEST_UPDATE_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    try {
      const e = 'env:KOE_TEST_UPDATE_KEY';
      await run(['root', '--feed', feed, '--expires-days', '1', '--root-key', e, '--root-threshold', '1', '--release-key', e, '--release-threshold', '1', '--timestamp-key', e, '--timestamp-threshold', '1', '--sign', e], NOW, () => undefined);
      expect(() => new TrustedMetadata(fs.readFileSync(path.join(feed, '1.root.json')), () => NOW).finishRoot()).not.toThrow();
    } finally {
      delete process.env.KOE_TEST_UPDATE_KEY;
    }
  });
});
