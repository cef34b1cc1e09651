// Deletes stale rows (services/cleanup.ts) when the API starts and then every cleanupIntervalMs.
// Every API process does it: the deletes are idempotent, so several copies only repeat each other.
import fp from 'fastify-plugin';
import { deleteStaleRows } from '../services/cleanup.ts';
import { runPeriodically } from './periodic.ts';

export default fp(async (app) => {
  runPeriodically(app, { name: 'clean-up of stale rows', everyMs: app.config.cleanupIntervalMs, atStart: true }, async () => {
    const deleted = await deleteStaleRows(app.prisma, app.config.loginLimit.windowMs);
    app.log.info({ deleted }, 'deleted stale rows');
  });
});
