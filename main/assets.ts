import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { logFailure } from './best-effort';
import { consoleLogger } from './log';

const assetLog = consoleLogger('assets');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.mp3': 'audio/mpeg',
};

/**
 * Maps a request path to a file inside `root`, or null. Refuses traversal (`..`, encoded or
 * not), backslashes, NUL bytes, absolute paths and dot-files; `/` means index.html.
 */
export function resolveAssetPath(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch (err) {
    // a malformed escape (URIError) is a bad path: refused like the others below, and said
    logFailure(assetLog, 'decoding an asset path', err, { length: pathname.length });
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return null;
  const rel = segments.length === 0 ? 'index.html' : segments.join('/');
  const full = path.resolve(root, rel);
  const inside = path.relative(path.resolve(root), full);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return full;
}

export interface AssetResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** Serves one renderer asset with the CSP and hardening headers; used by Electron's protocol handler and the dev host alike. */
export async function serveAsset(root: string, pathname: string, csp: string): Promise<AssetResponse> {
  const security = {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
  const file = resolveAssetPath(root, pathname);
  if (!file) return { status: 400, headers: { ...security, 'Content-Type': 'text/plain' }, body: 'Bad path' };
  try {
    // Symlinks must not lead outside the root either.
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
    if (path.relative(realRoot, realFile).startsWith('..')) throw new Error('outside root');
    const body = await readFile(realFile);
    const type = TYPES[path.extname(realFile).toLowerCase()] ?? 'application/octet-stream';
    return { status: 200, headers: { ...security, 'Content-Type': type }, body };
  } catch (err) {
    // missing (ENOENT) or outside the root: 404 is the answer; the cause goes to the log (no path: it is the caller's text)
    logFailure(assetLog, 'serving an asset', err);
    return { status: 404, headers: { ...security, 'Content-Type': 'text/plain' }, body: 'Not found' };
  }
}
