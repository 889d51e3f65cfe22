import { defineConfig } from 'vitest/config';

// One runner, four projects: each one an environment with its own speed.
//
// Two files at a time (vitest's default on two cores is one, and the suite ran file after file:
// 1,878 s in CI). Everything that starts the real telephony stack (Kamailio, rtpengine, baresip,
// Chromium: the e2e tests and tests/integration/telephony) is one project that runs a file at a
// time, so two stacks never share the machine; the other worker meanwhile runs the unit,
// component and gateway tests.
export default defineConfig({
  test: {
    maxWorkers: 2,
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['tests/support/has-assertions.ts'],
        },
      },
      {
        test: {
          name: 'component',
          environment: 'jsdom',
          include: ['tests/component/**/*.test.tsx'],
          setupFiles: ['tests/support/component-setup.ts', 'tests/support/has-assertions.ts'],
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
