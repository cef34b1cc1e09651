// A queue in front of the routes that ask the database most often under load (the rating hand-out
// and submit, config: { admission: true }). With 200 raters at once, every request would take its
// turn in the connection pool's queue several times, and each interactive transaction would keep its
// connection while the event loop served the other requests' callbacks between its statements, so
// throughput fell as raters were added (bench/load-raters.ts). Here a few at a time run to the end,
// and the rest wait holding nothing. p-limit is the queue: a slot is taken in onRequest, before the
// auth hook's query, and given back when the response is sent or the client goes away.
import fp from 'fastify-plugin';
import pLimit from 'p-limit';

export default fp(
  async (app) => {
    const limit = pLimit(app.config.admissionLimit);
    const release = new WeakMap<object, () => void>();
    const done = (req: object) => {
      release.get(req)?.();
      release.delete(req);
    };
    app.addHook('onRequest', async (req) => {
      if (!req.routeOptions.config.admission) return;
      await new Promise<void>((admitted) => {
        void limit(() => new Promise<void>((finished) => {
          release.set(req, finished);
          admitted();
        }));
      });
    });
    app.addHook('onResponse', async (req) => done(req));
    app.addHook('onRequestAbort', async (req) => done(req));
  },
  { name: 'jielong-admission', fastify: '5.x' },
);
