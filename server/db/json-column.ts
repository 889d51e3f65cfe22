// A JSON column as the driver gives it: PostgreSQL (pg) parses json/jsonb into values, PGlite
// and text columns hand back the text. The one decoder of both.
export function jsonColumn<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
