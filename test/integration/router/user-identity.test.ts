import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokens, type Tokens } from '../../../platform/src/index.js';
import { eventually, routerForms, startRouterForm, type FormRouter } from '../../kit/router.js';
import { startEchoUpstream, type EchoUpstream, type Seen } from '../../kit/upstreams.js';

const secret = 'a-test-secret-of-at-least-32-characters!';
let monolith: EchoUpstream;
let service: EchoUpstream;
let tokens: Tokens;

beforeAll(async () => {
  monolith = await startEchoUpstream('monolith');
  service = await startEchoUpstream('catalog');
  tokens = createTokens({ secret, ttlSeconds: 3600 });
});
afterAll(async () => {
  await monolith.stop();
  await service.stop();
});

const table = () => `
upstreams:
  monolith: { url: "${monolith.url}" }
  catalog: { url: "${service.url}" }
defaultUpstream: monolith
routes:
  - id: catalog-read
    match: { path: /api/v1/products/** }
    service: catalog
  - id: catalog-sessions
    match: { path: /api/v1/carts/** }
    service: catalog
    stickiness: sessionId
`;

async function canary(t: FormRouter): Promise<void> {
  await t.setStage('catalog-read', 'canary', 50);
  await t.setStage('catalog-sessions', 'canary', 50);
  await eventually(
    () =>
      t.flags.stage('ficus.catalog-read').stage === 'canary' &&
      t.flags.stage('ficus.catalog-sessions').stage === 'canary',
    2000,
    'flags applied',
  );
}

async function side(t: FormRouter, path: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${t.url}${path}`, { headers });
  await res.arrayBuffer();
  return res.headers.get('x-ficus-upstream')!;
}

const ids = Array.from({ length: 120 }, (_, i) => `user-${i}`);

describe.each(routerForms)('who a request is for, in the %s router', (form) => {
  let t: FormRouter;
  beforeAll(async () => {
    t = await startRouterForm(form, table(), { tokens });
    await canary(t);
  });
  afterAll(() => t.close());

  /** The side each user id lands on when a trusted gateway names it in the header. */
  const byHeader = async () =>
    new Map(
      await Promise.all(ids.map(async (id) => [id, await side(t, '/api/v1/products/1', { 'x-user-id': id })] as const)),
    );

  it('keeps a canary user on one side by the verified JWT sub', async () => {
    const expected = await byHeader();
    const share = [...expected.values()].filter((s) => s === 'catalog').length / ids.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    const signed = new Map(
      await Promise.all(
        ids.map(async (id) => [id, (await tokens.sign({ userId: id, role: 'customer' })).token] as const),
      ),
    );
    for (let repeat = 0; repeat < 2; repeat++) {
      const bySub = new Map(
        await Promise.all(
          ids.map(
            async (id) =>
              [id, await side(t, '/api/v1/products/1', { authorization: `Bearer ${signed.get(id)}` })] as const,
          ),
        ),
      );
      expect(bySub).toEqual(expected);
    }
  });

  it('keeps a session on one side by the session cookie when the route is sticky on sessionId', async () => {
    const sessions = ids.map((id) => `s-${id}`);
    const first = await Promise.all(
      sessions.map((sid) => side(t, '/api/v1/carts/1', { cookie: `theme=dark; sid=${sid}` })),
    );
    const share = first.filter((s) => s === 'catalog').length / sessions.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    expect(await Promise.all(sessions.map((sid) => side(t, '/api/v1/carts/1', { cookie: `sid=${sid}` })))).toEqual(
      first,
    );
  });

  it('believes a verified token over the user-id header, and a token that does not verify names nobody', async () => {
    const sides = await byHeader();
    const onService = ids.find((id) => sides.get(id) === 'catalog')!;
    const onMonolith = ids.find((id) => sides.get(id) === 'monolith')!;
    const { token } = await tokens.sign({ userId: onMonolith, role: 'customer' });
    expect(await side(t, '/api/v1/products/1', { authorization: `Bearer ${token}`, 'x-user-id': onService })).toBe(
      'monolith',
    );
    // No user id at all: a canary sticky on userId keeps such requests on the monolith.
    expect(await side(t, '/api/v1/products/1', { authorization: 'Bearer not.a.token', 'x-user-id': onService })).toBe(
      'monolith',
    );
  });

  it('stops routing by a token once it expires', async () => {
    const sides = await byHeader();
    const onService = ids.find((id) => sides.get(id) === 'catalog')!;
    const shortLived = createTokens({ secret, ttlSeconds: 1 });
    const { token } = await shortLived.sign({ userId: onService, role: 'customer' });
    expect(await side(t, '/api/v1/products/1', { authorization: `Bearer ${token}` })).toBe('catalog');
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await side(t, '/api/v1/products/1', { authorization: `Bearer ${token}` })).toBe('monolith');
  });

  it('ignores and removes the user-id header of peers it does not trust', async () => {
    const sides = await byHeader();
    const onService = ids.find((id) => sides.get(id) === 'catalog')!;
    const strict = await startRouterForm(form, table(), { tokens, trustedProxies: ['10.0.0.0/8'] });
    try {
      await canary(strict);
      const res = await fetch(`${strict.url}/api/v1/products/1`, {
        headers: { 'x-user-id': onService, x_user_id: onService },
      });
      expect(res.headers.get('x-ficus-upstream')).toBe('monolith');
      const sent = ((await res.json()) as Seen).headers;
      // Nor under the spelling CGI-style servers read as the same header.
      expect(sent['x-user-id']).toBeUndefined();
      expect(sent['x_user_id']).toBeUndefined();
      // The default trusts a gateway on the same host (loopback), and passes the header on.
      const trusted = await fetch(`${t.url}/api/v1/products/1`, { headers: { 'x-user-id': onService } });
      expect(((await trusted.json()) as Seen).headers['x-user-id']).toBe(onService);
    } finally {
      await strict.close();
    }
  });
});
