import { defineConfig } from 'vitest/config';

// One runner, four projects: each one an environment with its own speed.
//
// Everything that starts the real telephony stack (Kamailio, rtpengine, baresip, Chromium: the
// e2e tests and tests/integration/telephony) is one project, e2e, that runs a file at a time, so
// two stacks never share the machine. `npm test` (scripts/test.sh) runs it as one lane beside a
// second vitest for the other projects: vitest on two cores runs one file at a time, and a
// project without file parallelism only after all the others, so one run took 1,878 s in CI.
export default defineConfig({
  test: {
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['tests/support/has-assertions.ts'],
          // a hang guard, not a speed check (speed is the benchmarks'): the source-tree scans and
          // the component tests' typing take seconds while the stack lane loads the other core
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'component',
          environment: 'jsdom',
          include: ['tests/component/**/*.test.tsx'],
          setupFiles: ['tests/support/component-setup.ts', 'tests/support/has-assertions.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          environment: 'node',
          include: ['tests/integration/**/*.test.ts'],
          exclude: ['tests/integration/telephony/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // the real telephony stack: the e2e tests and the telephony integration tests, a file at a time
          name: 'e2e',
          environment: 'node',
          include: ['tests/e2e/**/*.test.ts', 'tests/integration/telephony/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
