/**
 * JWT authentication, off unless `JWT_SECRET` is set (the original's clients send no token). With it, every
 * API route needs `Authorization: Bearer <HS256 token>` signed with that secret (401 without or with a bad
 * or expired one), whose `roles` claim decides (403 otherwise): `consumer` may use /consumers and /orders,
 * `admin` everything. Probes and /metrics stay open: they are not the API.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';

const allowed: Record<string, (path: string) => boolean> = {
  admin: () => true,
  consumer: (path) => path.startsWith('/consumers') || path.startsWith('/orders'),
};

export function requireJwt(app: FastifyInstance, secret: string): void {
  const key = new TextEncoder().encode(secret);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/i.exec(header)?.[1];
    if (!token)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ message: 'a bearer token is required' });
    let roles: unknown;
    try {
      ({
        payload: { roles },
      } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token"')
        .send({ message: 'invalid token' });
    }
    const path = request.url.split('?')[0] ?? '';
    const granted =
      Array.isArray(roles) &&
      roles.some((role) => Object.hasOwn(allowed, String(role)) && allowed[String(role)]?.(path));
    if (!granted) return reply.code(403).send({ message: 'the token has no role for this route' });
  });
}
