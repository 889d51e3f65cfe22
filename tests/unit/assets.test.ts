import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAssetPath, serveAsset } from '../../main/assets';

const CSP = "default-src 'none'; script-src 'self'";

describe('resolveAssetPath', () => {
  const root = path.resolve(os.tmpdir(), 'koe-assets-root');

  it.each([
    '/../etc/passwd',
    '/../../../../etc/passwd',
    '/%2e%2e/secret',
    '/%2E%2E/secret',
    '/a/../../x',
    '/a/%2e%2e/%2e%2e/x',
    '/..%2fx',
    '/..%2f..%2fetc%2fpasswd',
    '/a%2f..%2f..%2fx',
    '/./index.html',
    '/index.html%00.js',
    '/index.html\0',
    '/..\\..\\windows\\win.ini',
    '/%5c..%5cx',
    '/a\\b.js',
    '/.env',
    '/.git/config',
    '/assets/.secret',
    '/%2egit/config',
    '/%E0%A4%A',
    '/%',
    '/%zz',
  ])('refuses %j', (pathname) => {
    expect(resolveAssetPath(root, pathname)).toBeNull();
  });

  // Each is either refused or read as a path under the root; it never reaches the file system's own.
  it.each([
    ['//etc/passwd', 'etc/passwd'],
    ['/%2fetc%2fpasswd', 'etc/passwd'],
    ['/C:/Windows/win.ini', 'C:/Windows/win.ini'],
    ['///root/.ssh', 'refused'], // a dot-file under the root: refused like /.env
  ])('an absolute-looking %j never leaves the root (%s)', (pathname, expected) => {
    const resolved = resolveAssetPath(root, pathname);
    const where = resolved === null ? 'refused' : path.relative(root, resolved).split(path.sep).join('/');
    expect(where).toBe(expected);
    expect(where.startsWith('..') || path.isAbsolute(where)).toBe(false);
    if (resolved !== null) expect(resolved.startsWith(`${root}${path.sep}`)).toBe(true);
  });

  it('maps / (and the empty path) to index.html', () => {
    expect(resolveAssetPath(root, '/')).toBe(path.join(root, 'index.html'));
    expect(resolveAssetPath(root, '')).toBe(path.join(root, 'index.html'));
  });

  it('resolves a nested asset inside the root, decoding percent-escapes', () => {
    expect(resolveAssetPath(root, '/assets/index-abc123.js')).toBe(path.join(root, 'assets', 'index-abc123.js'));
    expect(resolveAssetPath(root, '/assets/ring%20tone.ogg')).toBe(path.join(root, 'assets', 'ring tone.ogg'));
  });
});

describe('serveAsset', () => {
  let base: string;
  let root: string;

  beforeAll(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'koe-assets-'));
    root = path.join(base, 'renderer');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Koe</title>');
    fs.writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(root, 'assets', 'app.css'), 'body{}');
    fs.writeFileSync(path.join(root, 'assets', 'blob.bin'), Buffer.from([1, 2, 3]));
    fs.writeFileSync(path.join(base, 'secret.txt'), 'TOP-SECRET');
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'assets', 'leak.js'));
    fs.symlinkSync(base, path.join(root, 'up'));
    fs.symlinkSync(path.join(root, 'assets', 'app.js'), path.join(root, 'alias.js'));
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  const expectSecurityHeaders = (headers: Record<string, string>) => {
    expect(headers['Content-Security-Policy']).toBe(CSP);
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(headers['Referrer-Policy']).toBe('no-referrer');
  };

  it.each([
    ['/', 'text/html; charset=utf-8', '<!doctype html><title>Koe</title>'],
    ['/index.html', 'text/html; charset=utf-8', '<!doctype html><title>Koe</title>'],
    ['/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['/assets/app.css', 'text/css; charset=utf-8', 'body{}'],
    ['/alias.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
  ])('serves %s as %s with the CSP and nosniff', async (pathname, type, body) => {
    const res = await serveAsset(root, pathname, CSP);
    expect(res.status).toBe(200);
    expect(res.headers['Content-Type']).toBe(type);
    expectSecurityHeaders(res.headers);
    expect(String(res.body)).toBe(body);
  });

  it('serves unknown types as octet-stream (never sniffed)', async () => {
    const res = await serveAsset(root, '/assets/blob.bin', CSP);
    expect(res.status).toBe(200);
    expect(res.headers['Content-Type']).toBe('application/octet-stream');
  });

  it('404s a missing file, with the security headers', async () => {
    const res = await serveAsset(root, '/assets/nope.js', CSP);
    expect(res.status).toBe(404);
    expectSecurityHeaders(res.headers);
  });

  it('404s a directory', async () => {
    expect((await serveAsset(root, '/assets', CSP)).status).toBe(404);
  });

  it('refuses a traversal path without touching the file system outside root', async () => {
    const res = await serveAsset(root, '/%2e%2e/secret.txt', CSP);
    expect(res.status).toBe(400);
    expect(String(res.body)).not.toContain('TOP-SECRET');
    expectSecurityHeaders(res.headers);
  });

  it.each(['/assets/leak.js', '/up/secret.txt'])('404s a symlink %s that leads outside the root', async (pathname) => {
    const res = await serveAsset(root, pathname, CSP);
    expect(res.status).toBe(404);
    expect(String(res.body)).not.toContain('TOP-SECRET');
  });
});
