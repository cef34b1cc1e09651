// A task an API process repeats in the background (the clean-up, the dashboard fold): one run at a
// time, a failure logged and left to the next run (it must not take the API down), and closing
// waits for the run in progress.
import type { FastifyInstance } from 'fastify';

export function runPeriodically(app: FastifyInstance, o: { name: string; everyMs: number; atStart?: boolean }, task: () => Promise<void>) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const run = () =>
    (running ??= task()
      .catch((err: unknown) => app.log.error({ err }, `${o.name} failed`))
      .finally(() => {
        running = undefined;
      }));

  app.addHook('onReady', async () => {
    if (o.atStart) await run();
    timer = setInterval(() => void run(), o.everyMs);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
