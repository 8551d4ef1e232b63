/**
 * The API convention refuses what it cannot stand behind: a /v1 route without declared access or without a
 * success schema does not start; a response that breaks its schema is not sent; an undeclared field is stripped
 * (so an internal record that grows a field does not leak it); a feature's plugin written in the
 * fastify-type-provider-zod style plugs in with its access in `config`.
 */
import Fastify from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from '../../protocol/api.ts';
import { installApiConventions } from './conventions.ts';
import { failureLimiter } from './failure-limiter.ts';

async function app() {
  const a = Fastify({ exposeHeadRoutes: false });
  const api = await installApiConventions(a, {
    verifyToken: (t) => (t === 'tsk_op' ? { tokenId: '1', name: 'op', role: 'operator' } : undefined),
    tokenFailures: failureLimiter({ maxFailures: 100, windowMs: 60_000 }),
  });
  return { a, api };
}

describe('API conventions', () => {
  it('refuses a /v1 route that declares no access, or no success schema', async () => {
    const { a } = await app();
    expect(() => a.get('/v1/open', { schema: { response: { 200: z.object({}) } } }, async () => ({}))).toThrow(/TESSERA_ERR_ROUTE_UNDECLARED|declares no access/);
    expect(() => a.get('/v1/shapeless', { config: { access: 'public' } }, async () => ({}))).toThrow(/declares no response schema/);
    await a.close();
  });

  it('never sends a response that breaks its schema, and strips fields it does not declare', async () => {
    const { a } = await app();
    const Out = z.object({ count: z.number().int() });
    a.get('/v1/broken', { config: { access: 'public' }, schema: { response: { 200: Out } } }, async () => ({ count: 'many' }) as unknown as { count: number });
    a.get('/v1/leaky', { config: { access: 'public' }, schema: { response: { 200: Out } } }, async () => ({ count: 3, orgId: 'cleveland' }));
    const broken = await a.inject({ method: 'GET', url: '/v1/broken' });
    expect(broken.statusCode).toBe(500);
    expect(broken.json()).toMatchObject({ error: { code: 'TESSERA_ERR_RESPONSE_INVALID' } });
    expect(broken.body).not.toContain('many');
    const leaky = await a.inject({ method: 'GET', url: '/v1/leaky' });
    expect(leaky.json()).toEqual({ count: 3 });
    await a.close();
  });

  it('plugs in a feature plugin in a few lines: access in config, zod schemas, guarded before validation', async () => {
    const { a, api } = await app();
    const Submit = z.strictObject({ name: z.string() });
    const jobRoutes: FastifyPluginAsyncZod = async (r) => {
      r.post('/v1/jobs', { config: { access: ['operator'] }, schema: { body: Submit, response: { 202: z.object({ jobId: z.string(), by: z.string() }), 409: ApiError } } }, async (req, reply) =>
        reply.code(202).send({ jobId: `job-${req.body.name}`, by: req.operator?.name ?? '?' }),
      );
    };
    await a.register(jobRoutes);
    expect(api.routes()).toContainEqual({ method: 'POST', url: '/v1/jobs', access: ['operator'] });
    const post = (body: unknown, token?: string) => a.inject({ method: 'POST', url: '/v1/jobs', payload: body as object, headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await post({ nmae: 'x' })).statusCode).toBe(401);
    const bad = await post({ nmae: 'x' }, 'tsk_op');
    expect([bad.statusCode, bad.json()]).toMatchObject([400, { error: { code: 'TESSERA_ERR_MESSAGE_INVALID' } }]);
    const ok = await post({ name: 'x' }, 'tsk_op');
    expect([ok.statusCode, ok.json()]).toEqual([202, { jobId: 'job-x', by: 'op' }]);
    const Doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ security: z.unknown(), 'x-tessera-roles': z.unknown(), responses: z.record(z.string(), z.unknown()) }).loose())) }).loose();
    const op = Doc.parse(JSON.parse(JSON.stringify(a.swagger()))).paths['/v1/jobs']?.post;
    expect(op?.['x-tessera-roles']).toEqual(['operator']);
    expect(op?.security).toEqual([{ bearerToken: [] }]);
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(['202', '400', '401', '403', '409', '429', '500']);
    await a.close();
  });
});
