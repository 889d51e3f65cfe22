// /openapi.json, generated from the shared route contract (zod 4 -> JSON Schema).
import { z } from 'zod';
import { ROUTES, type RouteSpec } from '../shared/gateway/api';
import { ErrorBody } from '../shared/gateway/errors';

const toSchema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    const path = spec.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
      if (!schema) continue;
      const json = toSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [key, prop] of Object.entries(json.properties ?? {})) {
        parameters.push({ name: key, in: where, required: where === 'path' || (json.required ?? []).includes(key), schema: prop });
      }
    }
    paths[path] ??= {};
    paths[path]![spec.method.toLowerCase()] = {
      operationId: name,
      summary: spec.summary,
      ...(spec.auth === 'kamailio' ? { security: [{ kamailio: [] }] } : spec.auth !== null ? { security: [{ bearer: [] }], 'x-koe-permission': spec.auth } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } } } : {}),
      responses: {
        200: { description: 'OK', content: { 'application/json': { schema: toSchema(spec.response, 'output') } } },
        default: { description: 'Error', content: { 'application/json': { schema: toSchema(ErrorBody, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Koe gateway', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, kamailio: { type: 'apiKey', in: 'header', name: 'X-Koe-Route-Secret' } } },
    paths,
  };
}
