// The update path's attack matrix (issue 20): main's UpdateService in Node against a real loopback
// HTTP server serving a feed signed with the release tool's builders. Every attack is refused
// with its own code and nothing is handed on (no installer call, no file in downloads/); the
// good paths (an update, a key rotation, a staged rollout, policy) work.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeytarVault } from '../../../main/secrets/vault';
import { UpdateService, type Installer, type UpdatePolicy, type UpdateServiceDeps, type VerifiedArtifact } from '../../../main/services/updates';
import { rolloutPoint } from '../../../main/updates/verify';
import { memoryKeytar } from '../../support/memory-keytar';
import { artifactBytes, DAY, Feed, makeKeys, newKey, serveFeed, targetFor } from '../../support/update-feed';
import { fakeClock, makeServices, recordingLogger, tempDir } from '../../unit/helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const A = artifactBytes('koe-1.1.0', 256 * 1024);
const B = artifactBytes('koe-1.2.0', 300 * 1024);

async function world(opts: { running?: string; policy?: Partial<UpdatePolicy>; deviceKeyId?: string | null; installer?: boolean; limits?: UpdateServiceDeps['limits'] } = {}) {
  const clock = fakeClock(Date.parse('2026-12-01T00:00:00Z'));
  const feed = new Feed(makeKeys(), clock.now);
  const embedded = feed.rotateRoot();
  const server = await serveFeed(feed);
  const dir = tempDir('koe-updates-');
  const vault = new KeytarVault(memoryKeytar(), 'Koe (test)');
  const installed: VerifiedArtifact[] = [];
  const installer: Installer = { install: async (a) => void installed.push(a) };
  const logs = recordingLogger();
  let policy: UpdatePolicy = { updates: opts.installer ? 'auto' : 'notify', updateUrl: server.url, updateChannel: 'stable', ...opts.policy };
  const make = (over: Partial<UpdateServiceDeps> = {}) =>
    new UpdateService({
      fetch: (url, init) => fetch(url, init),
      trustRoot: embedded,
      policy: () => policy,
      running: opts.running ?? '1.0.0',
      platform: 'linux',
      arch: 'x64',
      dir,
      vault,
      deviceKeyId: async () => (opts.deviceKeyId === undefined ? 'device-key-1' : opts.deviceKeyId),
      now: clock.now,
      installer,
      log: logs.log,
      limits: { metadata: { deadlineMs: 5_000, stallMs: 2_000 }, artifact: { deadlineMs: 10_000, stallMs: 2_000 }, ...opts.limits },
      ...over,
    });
  cleanups.push(() => server.close(), () => fs.rmSync(dir, { recursive: true, force: true }));
  const downloads = () => (fs.existsSync(path.join(dir, 'downloads')) ? fs.readdirSync(path.join(dir, 'downloads')) : []);
  return { clock, feed, server, dir, vault, installed, logs, make, service: make(), downloads, setPolicy: (p: Partial<UpdatePolicy>) => (policy = { ...policy, ...p }) };
}

/** A refusal: its code, nothing installed, nothing left in downloads/, the code in the log. */
async function expectRefused(w: Awaited<ReturnType<typeof world>>, code: string, service = w.service) {
  const st = await service.check();
  expect(st).toMatchObject({ state: 'refused', code });
  expect(w.installed).toEqual([]);
  expect(w.downloads()).toEqual([]);
  expect(w.logs.records.some((r) => r.message === 'update refused' && r.fields?.code === code)).toBe(true);
}

describe('good paths', () => {
  it('a legitimate update: verified, handed to the installer (auto) with the exact signed bytes', async () => {
    const w = await world({ installer: true });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    expect(await w.service.check()).toMatchObject({ state: 'handed_over', version: '1.1.0' });
    expect(w.installed).toHaveLength(1);
    expect(fs.readFileSync(w.installed[0]!.path).equals(A)).toBe(true);
    expect(w.server.requests).toEqual(['2.root.json', 'timestamp.json', '1.release.json', 'Koe-1.1.0.AppImage']);
  });

  it('notify: verified and announced as ready, not installed; the next check is up to date once running it', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    expect(await w.service.check()).toMatchObject({ state: 'ready', version: '1.1.0', required: false });
    expect(w.installed).toEqual([]);
    expect(w.downloads()).toEqual(['Koe-1.1.0.AppImage']);
    const after = w.make({ running: '1.1.0' });
    expect(await after.check()).toMatchObject({ state: 'up_to_date' });
  });

  it('below the minimum supported version: the update is marked required', async () => {
    const w = await world({ running: '1.0.0' });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0', minVersion: '1.0.5', rollout: 0 }), bytes: A }]);
    // rollout 0 would hold it back, but a device below the minimum takes it at once
    expect(await w.service.check()).toMatchObject({ state: 'ready', version: '1.1.0', required: true });
  });

  it('a key rotation: root 2 (new root, release and timestamp keys, signed by 2 old and 2 new) is walked to, and the new keys sign', async () => {
    const w = await world({ installer: true });
    w.feed.rotateRoot(makeKeys());
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    expect(await w.service.check()).toMatchObject({ state: 'handed_over', version: '1.1.0' });
    expect(w.server.requests.slice(0, 3)).toEqual(['2.root.json', '3.root.json', 'timestamp.json']);
    // after a restart the kept roots are walked again from the embedded one, the kept metadata verifies with the new keys
    const again = w.make({ running: '1.1.0' });
    expect(await again.check()).toEqual({ state: 'up_to_date', checkedAt: w.clock.now() });
    expect(w.logs.records.filter((r) => r.level === 'error')).toEqual([]);
  });

  it('auto without an installer wired (the hand-over is not built yet): verified and announced, nothing installed', async () => {
    const w = await world({ installer: true });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    expect(await w.make({ installer: null }).check()).toMatchObject({ state: 'ready', version: '1.1.0' });
    expect(w.installed).toEqual([]);
  });

  it('a staged rollout: a device inside the fraction gets it, one outside does not (and still gets the fully rolled-out version), stable across runs', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `device-${i}`);
    const inside = ids.find((d) => rolloutPoint(d, '1.2.0') < 0.3)!;
    const outside = ids.find((d) => rolloutPoint(d, '1.2.0') >= 0.3)!;
    const share = ids.filter((d) => rolloutPoint(d, '1.2.0') < 0.3).length / ids.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    for (const [device, expected] of [
      [inside, '1.2.0'],
      [outside, '1.1.0'],
    ] as const) {
      for (let run = 0; run < 2; run++) {
        const w = await world({ deviceKeyId: device });
        w.feed.publish([
          { target: targetFor(A, { version: '1.1.0' }), bytes: A },
          { target: targetFor(B, { version: '1.2.0', rollout: 0.3 }), bytes: B },
        ]);
        expect(await w.service.check()).toMatchObject({ state: 'ready', version: expected });
      }
    }
  });

  it('a device outside the only new version: not_in_rollout, nothing downloaded; a device without an enrolment key likewise', async () => {
    const outside = Array.from({ length: 100 }, (_, i) => `d-${i}`).find((d) => rolloutPoint(d, '1.1.0') >= 0.5)!;
    for (const id of [outside, null]) {
      const w = await world({ deviceKeyId: id });
      w.feed.publish([{ target: targetFor(A, { version: '1.1.0', rollout: 0.5 }), bytes: A }]);
      expect(await w.service.check()).toMatchObject({ state: 'not_in_rollout', version: '1.1.0' });
      expect(w.server.requests).not.toContain('Koe-1.1.0.AppImage');
    }
  });
});

describe('policy', () => {
  it('disabled: the feed is never asked', async () => {
    const w = await world({ policy: { updates: 'disabled' } });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    expect(await w.service.check()).toEqual({ state: 'disabled' });
    expect(w.server.requests).toEqual([]);
  });

  it('no update URL or no root of trust in the build: unconfigured, nothing asked', async () => {
    const w = await world({ policy: { updateUrl: undefined } });
    expect(await w.service.check()).toEqual({ state: 'unconfigured', missing: 'updateUrl' });
    w.setPolicy({ updateUrl: w.server.url });
    expect(await w.make({ trustRoot: null }).check()).toEqual({ state: 'unconfigured', missing: 'trustRoot' });
    expect(w.server.requests).toEqual([]);
  });

  it('pinned: exactly that version, even below the running one (IT’s explicit downgrade), rollout ignored', async () => {
    const w = await world({ running: '1.2.0', policy: { pinnedVersion: '1.1.0' }, installer: true });
    w.feed.publish([
      { target: targetFor(A, { version: '1.1.0', rollout: 0 }), bytes: A },
      { target: targetFor(B, { version: '1.2.0' }), bytes: B },
    ]);
    expect(await w.service.check()).toMatchObject({ state: 'handed_over', version: '1.1.0' });
    expect(fs.readFileSync(w.installed[0]!.path).equals(A)).toBe(true);
  });

  it('pinned to a version the signed feed does not list, or below the minimum supported: refused', async () => {
    const w = await world({ policy: { pinnedVersion: '1.0.9' } });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    await expectRefused(w, 'pinned_not_found');
    const w2 = await world({ running: '1.2.0', policy: { pinnedVersion: '1.1.0' } });
    w2.feed.publish([
      { target: targetFor(A, { version: '1.1.0' }), bytes: A },
      { target: targetFor(B, { version: '1.2.0', minVersion: '1.2.0' }), bytes: B },
    ]);
    await expectRefused(w2, 'pinned_below_minimum');
  });

  it('channel: beta takes the beta artifact, stable never sees it', async () => {
    const w = await world({ policy: { updateChannel: 'beta' } });
    w.feed.publish([
      { target: targetFor(A, { version: '1.1.0' }), bytes: A },
      { target: targetFor(B, { version: '1.2.0-beta.1', channel: 'beta', file: 'Koe-1.2.0-beta.1.AppImage' }), bytes: B },
    ]);
    expect(await w.service.check()).toMatchObject({ state: 'ready', version: '1.2.0-beta.1' });
    w.setPolicy({ updateChannel: 'stable' });
    expect(await w.make().check()).toMatchObject({ state: 'ready', version: '1.1.0' });
  });

  it('through the managed policy in createMainServices: disabled asks nothing; notify with a feed verifies', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    const root = w.feed.files.get('1.root.json')!;
    const updates = { fetch: (url: string, init: { signal: AbortSignal }) => fetch(url, init), trustRoot: root, arch: 'x64' };
    const off = await makeServices({ managedPolicy: { updates: 'disabled', updateUrl: w.server.url }, updates, clock: w.clock, keytar: memoryKeytar() });
    expect(await off.updates.check()).toEqual({ state: 'disabled' });
    expect(w.server.requests).toEqual([]);
    const on = await makeServices({ managedPolicy: { updates: 'notify', updateUrl: w.server.url, updateChannel: 'stable' }, updates, clock: w.clock, keytar: memoryKeytar() });
    // no device key yet (not enrolled): rollout 1 includes every device
    expect(await on.updates.check()).toMatchObject({ state: 'ready', version: '1.1.0' });
  });
});

describe('the attack matrix: refused with its reason, nothing handed on', () => {
  it('tampered artifact (same size, other bytes)', async () => {
    const w = await world({ installer: true });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    const evil = Buffer.from(A);
    evil[1000] = evil[1000]! ^ 1;
    w.feed.files.set('Koe-1.1.0.AppImage', evil);
    await expectRefused(w, 'artifact_hash_mismatch');
  });

  it('tampered metadata: release.json edited (its hash no longer the timestamp’s); timestamp edited (its signature fails)', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    const rel = w.feed.files.get('1.release.json')!.toString('utf8');
    w.feed.files.set('1.release.json', Buffer.from(rel.replace('"rollout": 1', '"rollout": 0')));
    await expectRefused(w, 'release_hash_mismatch');
    const w2 = await world();
    w2.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    const ts = w2.feed.files.get('timestamp.json')!.toString('utf8');
    w2.feed.files.set('timestamp.json', Buffer.from(ts.replace(/"expires": "[^"]+"/, '"expires": "2099-01-01T00:00:00Z"')));
    await expectRefused(w2, 'timestamp_threshold');
  });

  it('a stolen timestamp key alone cannot vouch for an edited release (the release keys sign it)', async () => {
    const w = await world();
    const t = targetFor(A, { version: '1.1.0' });
    const evil = Buffer.from(A);
    evil[0] = evil[0]! ^ 1;
    w.feed.publish([{ target: targetFor(evil, { version: '1.1.0' }), bytes: evil }], { releaseSigners: [newKey()] });
    expect(t.sha512).not.toBe(w.feed.release!.targets[0]!.sha512);
    await expectRefused(w, 'release_threshold');
  });

  it('too few signatures: a new root signed by one of the two old root keys needed (the same signature twice counts once)', async () => {
    const w = await world();
    const one = w.feed.keys.root[0]!;
    const next = makeKeys();
    const bytes = w.feed.rotateRoot(next, { signers: [one, ...next.root.slice(0, 2)] });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    await expectRefused(w, 'root_threshold');
    const env = JSON.parse(bytes.toString('utf8')) as { signatures: { keyid: string }[] };
    env.signatures.push(env.signatures[0]!);
    w.feed.files.set('2.root.json', Buffer.from(JSON.stringify(env)));
    await expectRefused(w, 'root_threshold', w.make());
  });

  it('a revoked key: after a rotation removed the old release key, a release it signs is refused', async () => {
    const w = await world();
    const old = w.feed.keys.release[0]!;
    w.feed.rotateRoot({ ...w.feed.keys, release: [newKey()] });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }], { releaseSigners: [old] });
    await expectRefused(w, 'release_threshold');
  });

  it('an expired timestamp: a frozen feed (nothing re-signed for two days) is noticed', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    w.clock.advance(2 * DAY);
    await expectRefused(w, 'timestamp_expired');
  });

  it('an expired root or release is refused too', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }], { expiresMs: DAY / 2, tsExpiresMs: 2 * DAY });
    w.clock.advance(DAY);
    await expectRefused(w, 'release_expired');
  });

  it('rollback: an old release served as the latest, its old timestamp still valid; or a new timestamp naming the old release', async () => {
    const w = await world();
    const old = w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }], { tsExpiresMs: 10 * DAY });
    w.feed.publish([{ target: targetFor(B, { version: '1.2.0' }), bytes: B }]);
    expect(await w.service.check()).toMatchObject({ state: 'ready', version: '1.2.0' });
    fs.rmSync(path.join(w.dir, 'downloads'), { recursive: true });
    // the mirror goes back to release 1 and its timestamp (version 1): refused by this process and after a restart
    w.feed.files.set('timestamp.json', old.timestamp);
    await expectRefused(w, 'timestamp_rollback');
    await expectRefused(w, 'timestamp_rollback', w.make());
    // the kept files deleted (the floors also live in the keychain): still refused
    fs.rmSync(path.join(w.dir, 'state'), { recursive: true });
    await expectRefused(w, 'timestamp_rollback', w.make());
    // a timestamp-key holder re-stamps release 1 with a new timestamp version
    w.feed.release = { ...w.feed.release!, version: 1 };
    w.feed.stamp();
    await expectRefused(w, 'release_rollback', w.make());
  });

  it('an edited kept file is dropped (logged) and the keychain floors still refuse the rollback', async () => {
    const w = await world();
    const old = w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }], { tsExpiresMs: 10 * DAY });
    w.feed.publish([{ target: targetFor(B, { version: '1.2.0' }), bytes: B }]);
    await w.service.check();
    fs.rmSync(path.join(w.dir, 'downloads'), { recursive: true });
    const kept = path.join(w.dir, 'state', 'timestamp.json');
    fs.writeFileSync(kept, fs.readFileSync(kept, 'utf8').replace('"version": 2', '"version": 1'));
    w.feed.files.set('timestamp.json', old.timestamp);
    await expectRefused(w, 'timestamp_rollback', w.make());
    expect(w.logs.records.some((r) => r.level === 'error' && r.message === 'kept update metadata failed verification and was dropped')).toBe(true);
  });

  it('a mix of two releases’ files: the timestamp of release 2 with release 1’s bytes, or release 1’s artifact under release 2’s name', async () => {
    const w = await world();
    const first = w.feed.publish([{ target: targetFor(A, { version: '1.1.0', file: 'Koe.AppImage' }), bytes: A }]);
    w.feed.publish([{ target: targetFor(B, { version: '1.2.0', file: 'Koe.AppImage' }), bytes: B }]);
    w.feed.files.set('2.release.json', first.release);
    await expectRefused(w, 'release_hash_mismatch');
    const w2 = await world();
    w2.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    w2.feed.publish([{ target: targetFor(B, { version: '1.2.0' }), bytes: B }]);
    w2.feed.files.set('Koe-1.2.0.AppImage', Buffer.concat([A, B.subarray(A.length)]));
    await expectRefused(w2, 'artifact_hash_mismatch');
  });

  it('a downgrade below the running version (an older release offered as the newest) is refused', async () => {
    const w = await world({ running: '1.2.0' });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    await expectRefused(w, 'downgrade');
    expect(w.server.requests).not.toContain('Koe-1.1.0.AppImage');
  });

  it('an endless download and an oversized artifact are cut at the signed size; an endless metadata file at its cap', async () => {
    const w = await world();
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    w.server.behave.set('Koe-1.1.0.AppImage', 'endless');
    await expectRefused(w, 'artifact_too_large');
    w.server.behave.delete('Koe-1.1.0.AppImage');
    w.feed.files.set('Koe-1.1.0.AppImage', Buffer.concat([A, Buffer.alloc(10)]));
    await expectRefused(w, 'artifact_too_large', w.make());
    w.feed.files.set('Koe-1.1.0.AppImage', A.subarray(0, A.length - 1));
    await expectRefused(w, 'artifact_size_mismatch', w.make());
    w.server.behave.set('timestamp.json', 'endless');
    await expectRefused(w, 'metadata_too_large', w.make());
  });

  it('a slow-loris server: a byte now and then is cut at the deadline; silence at the stall timeout', async () => {
    const w = await world({ limits: { artifact: { deadlineMs: 1_500, stallMs: 500 } } });
    w.feed.publish([{ target: targetFor(A, { version: '1.1.0' }), bytes: A }]);
    w.server.behave.set('Koe-1.1.0.AppImage', { slowLoris: { intervalMs: 100 } });
    const t0 = Date.now();
    await expectRefused(w, 'download_timeout');
    expect(Date.now() - t0).toBeLessThan(5_000);
    w.server.behave.set('Koe-1.1.0.AppImage', { slowLoris: { intervalMs: 5_000 } });
    const t1 = Date.now();
    await expectRefused(w, 'download_stalled', w.make());
    expect(Date.now() - t1).toBeLessThan(3_000);
  });
});
