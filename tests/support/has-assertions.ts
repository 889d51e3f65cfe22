// Every test asserts something: a test whose body ran no expect() fails (issue 13). A check
// that only throws (a loop with `if (...) throw`) counts as no assertion: use expect().
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
