import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../dev/host';
import { triggers } from '../../functions';
import { buildOpenApiDocument } from '../../shared/openapi/document';
import type { HttpTrigger } from '../../shared/triggers';
import { startTestHost } from '../helpers/host';
import { testSettings } from '../helpers/stack';

/**
 * The OpenAPI document is the guard of the HTTP surface: every route the app registers is in it,
 * and every route in it is registered. Adding a route without documenting it fails here.
 */
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string }[] }>>;
  webhooks: Record<string, unknown>;
  components: Record<string, Record<string, unknown>>;
};
const doc = buildOpenApiDocument() as unknown as Doc;
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `api/x/{id:guid}` and `api/x/{id?}` are documented as `/api/x/{id}`. */
const pathOf = (route: string) =>
  `/${route.replace(/^\/+/, '')}`.replace(/\{\*?([A-Za-z_][A-Za-z0-9_]*)[^}]*\}/g, '{$1}');

const registered = triggers
  .filter((t): t is HttpTrigger => t.kind === 'http')
  .flatMap((t) => t.methods.map((m) => `${m} ${pathOf(t.route)}`))
  .sort();
const documented = Object.entries(doc.paths)
  .flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => methods.includes(k))
      .map((m) => `${m.toUpperCase()} ${path}`),
  )
  .sort();

describe('OpenAPI document', () => {
  it('documents every registered route, and only those', () => {
    expect(documented).toEqual(registered);
  });

  it('is OpenAPI 3.1 with unique operation ids, declared path parameters and resolvable references', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, item] of Object.entries(doc.paths)) {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        const declared = (op.parameters ?? [])
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort();
        expect(declared, `${method.toUpperCase()} ${path}`).toEqual(inTemplate);
      }
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(10);
    for (const [, section, name] of refs) {
      expect(doc.components[section!]?.[name!], `#/components/${section}/${name}`).toBeDefined();
    }
  });

  it('describes every order event type and the callbacks', () => {
    const body = doc.paths['/api/orders/events']!.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { oneOf: unknown[] } } } };
    };
    expect(body.requestBody.content['application/json'].schema.oneOf).toHaveLength(9);
    const created = doc.components.schemas!.OrderEvent_customerCreated as {
      properties: { data: { required: string[] } };
    };
    expect(created.properties.data.required.sort()).toEqual(['adminEmail', 'customerId', 'name']);
    expect(doc.webhooks).toHaveProperty('orderCallback');
  });
});

describe('GET /api/openapi.json', () => {
  let host: Host;
  beforeAll(async () => {
    host = await startTestHost(testSettings());
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('serves the document to anyone', async () => {
    const res = await fetch(`${host.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const served = (await res.json()) as Doc & { servers: { url: string }[] };
    expect(served.openapi).toBe('3.1.0');
    expect(Object.keys(served.paths).sort()).toEqual(Object.keys(doc.paths).sort());
    expect(served.servers[0]?.url).toMatch(/^https?:\/\//);
  });
});
