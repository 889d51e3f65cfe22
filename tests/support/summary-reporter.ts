import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the plain closing line CI reads ("N passed, N failed[, N skipped]") after vitest's
 * own summary. A file that failed outside its tests (failed to load, a failing
 * beforeAll) counts as a failure, so a broken file never disappears from the count.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        else skipped += 1;
      }
      // A file that failed outside its tests (import error, a failing beforeAll) counts once.
      failed += mod.state() === 'failed' && failedHere === 0 ? 1 : failedHere;
    }
    // Where the run's time goes (CI keeps the suite well under 30 minutes): the ten slowest files.
    const slowest = [...testModules]
      .map((m) => ({ file: m.moduleId.replace(`${process.cwd()}/`, ''), ms: m.diagnostic().duration }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10);
    process.stdout.write(`\nslowest files:\n${slowest.map((m) => `  ${(m.ms / 1000).toFixed(1)} s  ${m.file}`).join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
