// Deletes stale rows (services/cleanup.ts) when the API starts and then every cleanupIntervalMs.
// Every API process does it: the deletes are idempotent, so several copies only repeat each other.
import fp from 'fastify-plugin';
import { deleteStaleRows } from '../services/cleanup.ts';

export default fp(async (app) => {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const cleanUp = () => {
    running ??= deleteStaleRows(app.prisma, app.config.loginLimit.windowMs)
      .then((deleted) => app.log.info({ deleted }, 'deleted stale rows'))
      // a failed clean-up is retried at the next interval; it must not take the API down
      .catch((err: unknown) => app.log.error({ err }, 'clean-up of stale rows failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  app.addHook('onReady', async () => {
    await cleanUp();
    timer = setInterval(() => void cleanUp(), app.config.cleanupIntervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
});
