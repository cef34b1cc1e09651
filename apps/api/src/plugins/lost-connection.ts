// A database connection that breaks under a request (a failover, pg_terminate_backend) is dropped
// by the pool; a request that is safe to repeat then runs once more on a fresh connection instead
// of failing. Safe: reads (GET, HEAD) and routes that say so (`repeatable`); keyed creating POSTs
// are repeated by plugins/idempotency.ts, which knows whether the first try was answered.
// Anything else answers 503 with Retry-After (errors.ts).
import fp from 'fastify-plugin';
import { isConnectionLost } from '../errors.ts';

/** Runs `fn`, and once more if the database connection broke under it. For work that is safe to repeat. */
export async function retryIfConnectionLost<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isConnectionLost(err)) throw err;
    return fn();
  }
}

export default fp(
  async (app) => {
    app.addHook('onRoute', (route) => {
      const reads = [route.method].flat().every((m) => m === 'GET' || m === 'HEAD');
      if (!(route.config?.repeatable ?? reads)) return;
      const handler = route.handler;
      route.handler = async function (req, reply) {
        try {
          return await handler.call(this, req, reply);
        } catch (err) {
          // a stream already under way (SSE, exports) cannot start over
          if (!isConnectionLost(err) || reply.sent) throw err;
          req.log.warn('database connection lost; repeating the request');
          return handler.call(this, req, reply);
        }
      };
    });
  },
  { name: 'jielong-lost-connection', fastify: '5.x' },
);
