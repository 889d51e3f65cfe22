import { readFileSync } from 'node:fs';

export const GATEWAY_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch (err) {
    console.warn(`gateway: cannot read its version from package.json (${err instanceof Error ? err.message : String(err)}); reporting 0.0.0`);
    return '0.0.0';
  }
})();
