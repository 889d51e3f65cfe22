// The gateway's CORS list (server/cors.ts): several exact origins (the desktop app and one dev host
// per window `npm start` opens), every other origin refused, and a list no browser could match
// refused when the gateway starts, naming the key.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../server/config';
import { registerCors } from '../../../server/cors';

const ORIGINS = ['koe://app', 'http://127.0.0.1:5174', 'http://127.0.0.1:5175'];

describe('CORS with a list of origins', () => {
  const app = Fastify();
  beforeAll(async () => {
    registerCors(app, parseConfig({ corsOrigins: ORIGINS, jwt: { secret: 'cors-test-secret-0123456789-abcdefgh' } }).corsOrigins);
    app.get('/campaigns', async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(() => app.close());

  const preflight = (origin: string) => app.inject({ method: 'OPTIONS', url: '/screen-pop', headers: { origin, 'access-control-request-method': 'POST' } });
  const get = (origin: string) => app.inject({ method: 'GET', url: '/campaigns', headers: { origin } });

  it.each(ORIGINS)('%s: preflight and request allowed, for that origin only, without credentials', async (origin) => {
    const pre = await preflight(origin);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(origin);
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const res = await get(origin);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers.vary).toContain('Origin');
  });

  it.each([
    'https://evil.example',
    'http://127.0.0.1:5176', // the next dev host port, not started
    'http://localhost:5174', // the same machine by another name is another origin
    'https://127.0.0.1:5174',
    'http://127.0.0.1:51740',
    'http://127.0.0.1', // no port
    'null', // a sandboxed frame or a file://
    'koe://app.evil',
    'http://127.0.0.1:5174.evil.example',
  ])('%s: the preflight is refused 403 and a request gets no CORS header', async (origin) => {
    const pre = await preflight(origin);
    expect(pre.statusCode).toBe(403);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const res = await get(origin);
    expect(res.statusCode).toBe(200); // served, but a browser will not let the page read it
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the CORS list in the configuration', () => {
  const SECRET = { KOE_GATEWAY_JWT_SECRET: 'cors-test-secret-0123456789-abcdefgh' };

  it('KOE_GATEWAY_CORS_ORIGINS: a comma-separated list, spaces allowed', () => {
    expect(loadConfig({ ...SECRET, KOE_GATEWAY_CORS_ORIGINS: 'koe://app, http://127.0.0.1:5174 ,http://[::1]:5175,https://koe.example.jp' }).corsOrigins).toEqual([
      'koe://app',
      'http://127.0.0.1:5174',
      'http://[::1]:5175',
      'https://koe.example.jp',
    ]);
    expect(loadConfig(SECRET).corsOrigins).toEqual(['koe://app']);
  });

  it.each([
    ['*', 'no wildcards'],
    ['http://*.example.jp', 'no wildcards'],
    ['http://127.0.0.1:5174/', 'no path, not even a trailing "/"'],
    ['http://127.0.0.1:5174/app', 'no path'],
    ['HTTP://127.0.0.1:5174', 'lower case'],
    ['http://Koe.example.jp', 'lower case'],
    ['http://127.0.0.1:70000', 'the port must be 1 to 65535'],
    ['http://127.0.0.1:80', 'leave out the default port 80'],
    ['https://koe.example.jp:443', 'leave out the default port 443'],
    ['ftp://127.0.0.1', 'expected scheme://host[:port]'],
    ['127.0.0.1:5174', 'expected scheme://host[:port]'],
  ])('%s is refused at start: %s, naming KOE_GATEWAY_CORS_ORIGINS', (value, why) => {
    const load = () => loadConfig({ ...SECRET, KOE_GATEWAY_CORS_ORIGINS: `http://127.0.0.1:5174,${value}` });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(why);
    expect(load).toThrow(/corsOrigins(\.1)? \(KOE_GATEWAY_CORS_ORIGINS\)/);
  });

  it('a list of only commas is no list: refused, not "no origin at all"', () => {
    expect(() => loadConfig({ ...SECRET, KOE_GATEWAY_CORS_ORIGINS: ' , ' })).toThrow('corsOrigins (KOE_GATEWAY_CORS_ORIGINS): at least one origin');
  });

  it('the gateway does not start with a bad list: it exits 1 with the reason', () => {
    const tsx = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const r = spawnSync(tsx, ['server/cli.ts', 'serve'], {
      env: { ...process.env, ...SECRET, KOE_GATEWAY_CORS_ORIGINS: 'koe://app,http://127.0.0.1:*' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('configuration error:');
    expect(r.stderr).toContain('environment: corsOrigins.1 (KOE_GATEWAY_CORS_ORIGINS): "http://127.0.0.1:*" is not an allowed origin: no wildcards');
  }, 60_000); // a tsx child process: seconds on a loaded machine
});
