// The dev host's fetch for main's services: Node's http/https with keep-alive agents the dev
// host owns, so that it can do what Electron's session.closeAllConnections() does for main's
// net.fetch: end every connection, in flight or kept for reuse (after a sleep they may be black
// holes a request would wait on until its timeout). Node's global fetch keeps its pool out of
// reach. Only what main's FetchFn needs: method, headers, a string body, a signal; JSON answers.
import http from 'node:http';
import https from 'node:https';
import type { FetchFn } from '../../shared/gateway-client';

export class NodeFetch {
  private http = new http.Agent({ keepAlive: true });
  private https = new https.Agent({ keepAlive: true });

  readonly fetch: FetchFn = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      if (!secure && u.protocol !== 'http:') return reject(new TypeError(`unsupported protocol ${u.protocol}`));
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
      const req = (secure ? https : http).request(
        u,
        { method: init.method ?? 'GET', headers, agent: secure ? this.https : this.http, ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('the response was cut short'), { code: 'ECONNRESET' })));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) as unknown });
          });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });

  /** Ends every connection (requests on them fail at once); the next request opens a new one. */
  dropConnections(): void {
    this.http.destroy();
    this.https.destroy();
    this.http = new http.Agent({ keepAlive: true });
    this.https = new https.Agent({ keepAlive: true });
  }
}
