// JSON columns, both ways: the one encoder (what a json/jsonb column is written as) and the one
// decoder (what it reads back as). PostgreSQL (pg) parses json/jsonb into values, PGlite and
// text columns hand back the text; both are written as the JSON text.
export function jsonColumn<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * The value as a JSON column takes it (schema.ts `Json`: written as text). Objects and arrays
 * only: a top-level string would read back ambiguously (pg hands back the string, which the
 * decoder would then parse as JSON text).
 */
export function toJsonColumn(value: object): string {
  return JSON.stringify(value);
}
