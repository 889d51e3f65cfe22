// axe-core (Deque's accessibility engine, the one browsers' devtools use) in a Playwright page:
// its source is evaluated through the DevTools protocol, which the page's CSP does not govern,
// so the app is checked under its real CSP. Returns the violations a user of assistive
// technology or the keyboard would meet: impact "critical" or "serious" (issue 17 asks for none).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  /** Selectors of the offending nodes (first few), to find them. */
  nodes: string[];
}

/**
 * Runs axe on the page (or a part of it) and returns the critical and serious violations. If axe
 * judged the contrast of no text at all (nothing visible, or the rule not run), that is returned
 * as a finding too (`color-contrast-not-evaluated`): a check that saw nothing must not pass.
 */
export async function seriousA11yViolations(page: Page, within?: string): Promise<AxeFinding[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const found = await page.evaluate(async (selector) => {
    type Result = { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] };
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Result[]; passes: Result[] }> } }).axe;
    const r = await axe.run(selector ? { include: [selector] } : document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    const judged = [...r.passes, ...r.violations].filter((v) => v.id === 'color-contrast').reduce((n, v) => n + v.nodes.length, 0);
    const violations = r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
    return judged > 0 ? violations : [...violations, { id: 'color-contrast-not-evaluated', impact: 'serious', help: 'axe judged the contrast of no text here', nodes: [] }];
  }, within ?? null);
  return found.filter((v) => v.impact === 'critical' || v.impact === 'serious');
}
