// Makes the API's kept reads (kept-reads.ts) and forgets them all before a route that changed
// something they hold answers (`config.changesKeptReads`): its notification may come after the
// response, and the caller's next request must not find the old value.
import fp from 'fastify-plugin';
import { KeptReads, type KeptReadsOptions } from '../kept-reads.ts';

export default fp(async (app) => {
  const all: KeptReads<unknown>[] = [];
  app.decorate('keptReads', async <T>(options?: KeptReadsOptions) => {
    const kept = new KeptReads<T>(app.lease, options);
    all.push(kept as KeptReads<unknown>);
    await kept.listen();
    return kept;
  });
  app.addHook('onSend', async (req) => {
    if (req.routeOptions.config.changesKeptReads) for (const kept of all) kept.forget();
  });
});
