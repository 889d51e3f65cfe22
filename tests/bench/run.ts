// `npm run bench`: runs every tests/bench/*.bench.ts module in turn and prints its tables.
// A bench module's default export is `async (log) => Table[]`; it logs progress with `log`.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Table {
  title: string;
  rows: Record<string, string | number>[];
}
export type Bench = (log: (line: string) => void) => Promise<Table[]>;

export function formatTable(t: Table): string {
  if (t.rows.length === 0) return `${t.title}\n  (no rows)`;
  const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : String(v ?? ''));
  const width = (c: string) => Math.max(c.length, ...t.rows.map((r) => [...cell(r[c])].length));
  const pad = (s: string, w: number, right: boolean) => (right ? s.padStart(w) : s.padEnd(w));
  const numeric = (c: string) => t.rows.every((r) => typeof r[c] === 'number' || r[c] === undefined);
  const line = (vals: string[]) => `  ${vals.map((v, i) => pad(v, width(cols[i]!) + (v.length - [...v].length), numeric(cols[i]!))).join('  ')}`;
  return [t.title, line(cols), line(cols.map((c) => '-'.repeat(width(c)))), ...t.rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function main() {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const only = process.argv[2];
  const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only))).sort();
  if (files.length === 0) throw new Error(`no bench modules in ${dir}${only ? ` matching "${only}"` : ''}`);
  for (const file of files) {
    const started = Date.now();
    console.log(`\n=== ${file} ===`);
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default: Bench };
    const tables = await mod.default((line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`));
    for (const t of tables) console.log(`\n${formatTable(t)}`);
    console.log(`\n${file}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
