import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/src/index.js';
import { createMonolith } from '../../../monolith/src/app.js';
import { definedModules } from '../../../monolith/src/modules.js';
import { startTestMonolith, type TestMonolith } from '../../kit/monolith.js';

let t: TestMonolith;
beforeAll(async () => {
  t = await startTestMonolith();
});
afterAll(() => t.close());

describe('the platform chassis', () => {
  it('answers /healthz and /readyz with every module database checked', async () => {
    await request(t.app).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(t.app).get('/readyz').expect(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { 'db:catalog': 'ok', 'db:users': 'ok', 'db:payments': 'ok', 'db:orders': 'ok' },
    });
  });

  it('fails /readyz with 503 naming the database that does not answer', async () => {
    const unreachable = { ...t.database.config, DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' };
    const broken = createMonolith({
      config: unreachable,
      modules: definedModules,
      logger: createLogger({ level: 'silent', name: 'test' }),
    });
    try {
      const res = await request(broken.app).get('/readyz').expect(503);
      expect(res.body.code).toBe('FICUS_ERR_NOT_READY');
      expect(res.body.detail).toContain('db:catalog');
    } finally {
      await broken.close();
    }
  });

  it('echoes a well-formed X-Request-Id and puts it in problem bodies; replaces a hostile one', async () => {
    const res = await request(t.app).get('/api/v1/nope').set('x-request-id', 'abc-123').expect(404);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body.requestId).toBe('abc-123');
    const hostile = await request(t.app).get('/healthz').set('x-request-id', 'x'.repeat(500));
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts requests and latency by route pattern and status on /metrics', async () => {
    const { body } = await request(t.app).get('/api/v1/products');
    await request(t.app).get(`/api/v1/products/${body.items[0].id}`).expect(200);
    await request(t.app).get('/api/v1/products/00000000-0000-4000-8000-000000000000').expect(404);
    const metrics = await request(t.app).get('/metrics').expect(200);
    expect(metrics.text).toContain(
      'monolith_http_requests_total{method="GET",route="/api/v1/products/:id",status="200"} 1',
    );
    expect(metrics.text).toContain(
      'monolith_http_requests_total{method="GET",route="/api/v1/products/:id",status="404"} 1',
    );
    expect(metrics.text).toMatch(
      /monolith_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/v1\/products",status="200"\}/,
    );
    expect(metrics.text).not.toContain('00000000-0000-4000-8000-000000000000');
  });
});
