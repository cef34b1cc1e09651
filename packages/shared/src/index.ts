// @jielong/shared: the API contract (zod schemas + types, one file per resource under api/)
// and pure functions every side must agree on.
export * from './api/common.ts';
export * from './api/auth.ts';
export * from './api/users.ts';
export * from './api/projects.ts';
export * from './api/prompts.ts';
export * from './api/demonstrations.ts';
export * from './api/comparisons.ts';
export * from './api/scales.ts';
export * from './api/rankings.ts';
export * from './api/datasets.ts';
export * from './api/dashboard.ts';
export * from './api/training.ts';
export * from './api/jobs.ts';
export * from './api/model-io.ts';
export * from './api/quality.ts';
export * from './hyperparams.ts';
export * from './pairs.ts';
export * from './quality.ts';
export * from './arena.ts';
export * from './text.ts';
export * from './dialogue.ts';
export * from './api/playground.ts';
