// The verifier's rules one by one (main/updates/verify.ts), without a network: the service's
// attack matrix over HTTP is tests/integration/updates/update-service.test.ts.
import { describe, expect, it } from 'vitest';
import { publicKeyOf, compareVersions, signMetadata, type ReleaseSigned } from '../../../main/updates/metadata';
import { buildRoot, metadataFile } from '../../../main/updates/release';
import { chooseTarget, inRollout, rolloutPoint, TrustedMetadata, UpdateRefusal } from '../../../main/updates/verify';
import { artifactBytes, DAY, Feed, isoIn, makeKeys, newKey, targetFor } from '../../support/update-feed';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const now = () => NOW;

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpdateRefusal) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('root', () => {
  it('the embedded root must meet its own threshold and be well-formed', () => {
    const k = makeKeys();
    const spec = { version: 1, expires: isoIn(NOW, DAY), root: { keys: k.root.map(publicKeyOf), threshold: 2 }, release: { keys: k.release.map(publicKeyOf), threshold: 1 }, timestamp: { keys: k.timestamp.map(publicKeyOf), threshold: 1 } };
    expect(refusal(() => new TrustedMetadata(metadataFile(buildRoot(spec, k.root.slice(0, 2))), now))).toBe('accepted');
    expect(refusal(() => new TrustedMetadata(metadataFile(buildRoot(spec, k.root.slice(0, 1))), now))).toBe('root_threshold');
    // a threshold above the number of keys could never be met: a broken root
    const impossible = buildRoot({ ...spec, release: { keys: k.release.map(publicKeyOf), threshold: 2 } }, k.root);
    expect(refusal(() => new TrustedMetadata(metadataFile(impossible), now))).toBe('metadata_invalid');
    expect(refusal(() => new TrustedMetadata(Buffer.from('{not json'), now))).toBe('metadata_invalid');
  });

  it('rotation one version at a time: a skipped version is refused even when well signed', () => {
    const feed = new Feed(makeKeys(), now);
    const t = new TrustedMetadata(feed.rotateRoot(), now);
    feed.rotateRoot();
    const v3 = feed.rotateRoot();
    expect(refusal(() => t.updateRoot(v3))).toBe('root_version');
  });

  it('a new root must also meet its own new threshold (the new keys prove they exist)', () => {
    const feed = new Feed(makeKeys(), now);
    const t = new TrustedMetadata(feed.rotateRoot(), now);
    const old = feed.keys.root;
    const next = makeKeys();
    expect(refusal(() => t.updateRoot(feed.rotateRoot(next, { signers: old.slice(0, 2) })))).toBe('root_threshold');
  });

  it('an expired newest root, or one below the kept floor, is refused at the end of the walk', () => {
    const feed = new Feed(makeKeys(), now);
    const t = new TrustedMetadata(feed.rotateRoot(undefined, { expiresMs: -1000 }), now);
    expect(refusal(() => t.finishRoot())).toBe('root_expired');
    const t2 = new TrustedMetadata(new Feed(makeKeys(), now).rotateRoot(), now, { root: 3, timestamp: 0, release: 0 });
    expect(refusal(() => t2.finishRoot())).toBe('root_rollback');
  });

  it('a rotation that changes the timestamp keys drops the timestamp floor (recovery from a fast-forward by a stolen key)', () => {
    const feed = new Feed(makeKeys(), now);
    const t = new TrustedMetadata(feed.rotateRoot(), now, { root: 1, timestamp: 50, release: 0 });
    t.updateRoot(feed.rotateRoot({ ...feed.keys, timestamp: [newKey()] }));
    expect(t.versions().timestamp).toBe(0);
  });
});

describe('signatures', () => {
  it('a signature by a key outside the role, or over other content, counts for nothing', () => {
    const feed = new Feed(makeKeys(), now);
    const t = new TrustedMetadata(feed.rotateRoot(), now);
    const a = artifactBytes('x', 100);
    feed.publish([{ target: targetFor(a, { version: '1.1.0' }), bytes: a }]);
    // the release key signing a timestamp: the wrong role
    const env = JSON.parse(feed.files.get('timestamp.json')!.toString('utf8')) as { signed: unknown };
    const wrongRole = signMetadata(env.signed, feed.keys.release);
    expect(refusal(() => t.updateTimestamp(metadataFile(wrongRole)))).toBe('timestamp_threshold');
  });
});

describe('chooseTarget', () => {
  const a = artifactBytes('a', 10);
  const rel = (targets: ReturnType<typeof targetFor>[]): ReleaseSigned => ({ _type: 'release', version: 1, expires: isoIn(NOW, DAY), targets });
  const q = { channel: 'stable', platform: 'linux', arch: 'x64', running: '1.0.0', pinned: null, deviceKeyId: 'dev' };

  it('no artifact for this platform/arch: no_target', () => {
    expect(refusal(() => chooseTarget(rel([targetFor(a, { version: '1.1.0', arch: 'arm64' })]), q))).toBe('no_target');
  });

  it('the newest on the channel, never another channel’s or platform’s', () => {
    const r = rel([targetFor(a, { version: '1.1.0' }), targetFor(a, { version: '1.3.0', channel: 'beta' }), targetFor(a, { version: '1.4.0', platform: 'win32' })]);
    expect(chooseTarget(r, q)).toMatchObject({ kind: 'update', target: { version: '1.1.0' } });
  });

  it('pre-releases order below their release', () => {
    expect(compareVersions('1.2.0-beta.2', '1.2.0')).toBe(-1);
    expect(compareVersions('1.2.0-beta.10', '1.2.0-beta.9')).toBe(1);
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('2.0.0', '2.0.0')).toBe(0);
  });

  it('rollout: 0 is nobody, 1 is everybody, a device without a key only at 1; the point is stable and spread', () => {
    const t = targetFor(a, { version: '1.1.0', rollout: 0 });
    expect(inRollout('dev', t)).toBe(false);
    expect(inRollout(null, { ...t, rollout: 1 })).toBe(true);
    expect(inRollout(null, { ...t, rollout: 0.99 })).toBe(false);
    expect(rolloutPoint('dev', '1.1.0')).toBe(rolloutPoint('dev', '1.1.0'));
    expect(rolloutPoint('dev', '1.1.0')).not.toBe(rolloutPoint('dev', '1.2.0'));
    const pts = Array.from({ length: 2000 }, (_, i) => rolloutPoint(`d${i}`, '1.1.0'));
    const share = pts.filter((p) => p < 0.1).length / pts.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
  });
});
