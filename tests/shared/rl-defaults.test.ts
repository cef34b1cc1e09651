// Defaults once (STYLE.md): the GRPO, KTO and best-of-N schemas the API validates with parse {} to
// the trainers' own defaults, so a job started with no hyper-parameters trains as the trainer would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEST_OF_N_DEFAULTS, GRPO_DEFAULTS, KTO_DEFAULTS } from '../../packages/ml/src/index.ts';
import { BestOfNHyperparamsSchema, GrpoHyperparamsSchema, KtoHyperparamsSchema, rankingToUnpaired } from '../../packages/shared/src/index.ts';

test('GRPO, KTO and best-of-N schemas default to the trainers’ defaults', () => {
  // goldEvery needs a gold reward, which only code (tests, benches) can pass
  const { goldEvery, ...grpo } = GRPO_DEFAULTS;
  assert.equal(goldEvery, 10);
  assert.deepEqual(GrpoHyperparamsSchema.parse({}), grpo);
  assert.deepEqual(KtoHyperparamsSchema.parse({}), KTO_DEFAULTS);
  assert.deepEqual(BestOfNHyperparamsSchema.parse({}), BEST_OF_N_DEFAULTS);
});

test('a ranking gives KTO its best group as desirable and its worst as undesirable', () => {
  assert.deepEqual(rankingToUnpaired([['a'], ['b', 'c'], ['d', 'e']]), { desirable: ['a'], undesirable: ['d', 'e'] });
  assert.deepEqual(rankingToUnpaired([['a', 'b'], ['c']]), { desirable: ['a', 'b'], undesirable: ['c'] });
  assert.deepEqual(rankingToUnpaired([['a', 'b', 'c']]), { desirable: [], undesirable: [] }, 'all tied: nothing to learn');
});
