// Folds every project's dashboard changes (services/dashboard-days.ts) as they come, every
// dashboardFoldIntervalMs, so that a dashboard request finds at most a few left and answers at
// once however much was ranked since the last one. Every API process does it: the fold's advisory
// lock and its delete-then-read make two folds of one project take turns, never count twice.
import fp from 'fastify-plugin';
import { fillAgreement, foldDashboardChanges, projectsBehind } from '../services/dashboard-days.ts';
import { runPeriodically } from './periodic.ts';

/** comparisons per batch of the background fold (a request's own fold takes up to 500 at once) */
const BACKGROUND_BATCH = 200;

export default fp(async (app) => {
  const every = app.config.dashboardFoldIntervalMs;
  if (!every) return;
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });
  // Small batches: the fold's own computing runs on the API's event loop, so a batch must be short
  // for the requests waiting behind it; and closing then waits for one batch, not for a backlog.
  // What the fill changes is folded by the next run.
  const bounds = { batch: BACKGROUND_BATCH, stop: () => closing };
  runPeriodically(app, { name: 'dashboard fold', everyMs: every }, async () => {
    for (const projectId of await projectsBehind(app.prisma)) {
      await fillAgreement(app.prisma, projectId, bounds);
      await foldDashboardChanges(app.prisma, projectId, bounds);
    }
  });
});
