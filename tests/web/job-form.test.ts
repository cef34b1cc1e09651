import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateJobRequestSchema, HYPERPARAMS_SCHEMAS, PRESET_BLOCK_SIZE, type Model } from '@jielong/shared';
import { PRESETS } from '../../packages/ml/src/index.ts';
import { defaultValues, estimateDuration, FIRST_GUESS_TOKENS_PER_SECOND, formField, HP_FIELDS, hyperparamsFromForm, inHyperparams, JOB_KINDS, lrWarning, MODEL_INPUTS, modelsFor } from '../../apps/web/src/lib/jobForm.ts';

const project = { answersPerComparison: 3, ratersPerComparison: 2 };

test('every hyper-parameter of every kind is in the form, and the untouched form sends exactly the defaults', () => {
  for (const kind of JOB_KINDS) {
    const defaults = HYPERPARAMS_SCHEMAS[kind].parse({}) as Record<string, unknown>;
    const shown = new Set([...HP_FIELDS[kind].main, ...HP_FIELDS[kind].advanced, ...MODEL_INPUTS[kind].filter(inHyperparams).map((i) => i.field)].map((p) => p.split('.')[0]));
    // the schema's shape: optional fields without a default (generate's K) too
    const schemaKeys = Object.keys((HYPERPARAMS_SCHEMAS[kind] as unknown as { shape: object }).shape);
    assert.ok(schemaKeys.length > 0);
    for (const key of schemaKeys) assert.ok(shown.has(key), `${kind}: ${key} has no field`);

    const { hyperparams, notNumbers } = hyperparamsFromForm(kind, defaultValues(kind, project));
    assert.deepEqual(notNumbers, []);
    const expected = kind === 'generate' ? { ...defaults, answersPerPrompt: 3, requiredRankings: 2 } : defaults;
    assert.deepEqual(HYPERPARAMS_SCHEMAS[kind].parse(hyperparams), expected, kind);
  }
});

test('empty boxes fall back to the default, nullable ones become null; text that is no number is named', () => {
  const ppo = { ...defaultValues('ppo', project), iterations: '', maxKl: ' ', lr: '3e-4', klCoef: 'lots' };
  const { hyperparams, notNumbers } = hyperparamsFromForm('ppo', ppo);
  assert.equal('iterations' in hyperparams, false);
  assert.equal(hyperparams.maxKl, null);
  assert.equal(hyperparams.lr, 3e-4);
  assert.deepEqual(notNumbers, ['klCoef']);

  const pretrain = hyperparamsFromForm('pretrain', { ...defaultValues('pretrain', project), preset: 'tiny', 'model.nEmbd': '64' }).hyperparams;
  assert.equal(pretrain.preset, 'tiny');
  assert.deepEqual(pretrain.model, { nEmbd: 64 });

  const sft = hyperparamsFromForm('sft', { ...defaultValues('sft', project), lora: 'on', 'lora.rank': '4' }).hyperparams;
  assert.deepEqual(sft.lora, { rank: 4, alpha: 16 });
  const targeted = hyperparamsFromForm('sft', { ...defaultValues('sft', project), lora: 'on', 'lora.targets': ' q_proj,v_proj  o_proj' }).hyperparams;
  assert.deepEqual(targeted.lora, { rank: 8, alpha: 16, targets: ['q_proj', 'v_proj', 'o_proj'] });
});

test('a request built from the form passes the API schema; its errors map back to form fields', () => {
  const body = { kind: 'ppo', hyperparams: hyperparamsFromForm('ppo', defaultValues('ppo', project)).hyperparams, policyModelId: crypto.randomUUID(), rewardModelId: crypto.randomUUID() };
  assert.equal(CreateJobRequestSchema.safeParse(body).success, true);
  assert.deepEqual(MODEL_INPUTS.ppo.map((i) => i.field), ['policyModelId', 'rewardModelId']);

  const bad = CreateJobRequestSchema.safeParse({ kind: 'pretrain', hyperparams: { model: { nHead: 4, nEmbd: 30 } } });
  assert.equal(bad.success, false);
  assert.equal(formField(`hyperparams.${bad.error!.issues[0].path.slice(1).join('.')}`), 'model.nEmbd');
  assert.equal(formField('hyperparams.lora.rank'), 'lora.rank');
  const badTarget = CreateJobRequestSchema.safeParse({ kind: 'sft', modelId: crypto.randomUUID(), hyperparams: { lora: { rank: 4, alpha: 8, targets: ['q_proj', 'qq'] } } });
  assert.equal(badTarget.success, false);
  assert.equal(formField(`hyperparams.${badTarget.error!.issues[0].path.slice(1).join('.')}`), 'lora.targets');
  assert.equal(formField('modelIds.1'), 'modelIds');
  assert.equal(formField(undefined), undefined);
});

test('model pickers offer the kinds a job takes, the usual kind first and newest first', () => {
  const model = (id: string, kind: Model['kind'], day: number): Model => ({
    id, projectId: null, name: id, kind, parentId: null, jobId: null, config: {}, metrics: {}, createdAt: `2026-01-0${day}T00:00:00.000Z`,
  });
  const models = [model('base1', 'base', 1), model('sft1', 'sft', 2), model('sft2', 'sft', 3), model('rm', 'reward', 4), model('tok', 'tokenizer', 5)];
  const [rewardBase] = MODEL_INPUTS.reward;
  assert.deepEqual(modelsFor(rewardBase, models).map((m) => m.id), ['sft2', 'sft1', 'base1']);
  const [, rewardInput] = MODEL_INPUTS.ppo;
  assert.deepEqual(modelsFor(rewardInput, models).map((m) => m.id), ['rm']);
  assert.deepEqual(modelsFor(MODEL_INPUTS.sft[0], models).map((m) => m.id), ['base1', 'sft2', 'sft1']);
});

test('the duration estimate counts steps × batch × context at the speed measured here, else a first guess', () => {
  const values = defaultValues('pretrain', project);
  const guess = estimateDuration('pretrain', values, [])!;
  assert.equal(guess.jobs, 0);
  assert.equal(guess.tokensPerSecond, FIRST_GUESS_TOKENS_PER_SECOND.mini);
  assert.equal(guess.seconds, (2000 * 16 * 128) / FIRST_GUESS_TOKENS_PER_SECOND.mini);
  const measured = [{ kind: 'pretrain' as const, preset: 'mini', tokensPerSecond: 1000, jobs: 2 }];
  const here = estimateDuration('pretrain', values, measured)!;
  assert.deepEqual([here.jobs, here.seconds], [2, 4096]);
  assert.equal(estimateDuration('pretrain', { ...values, steps: '4000' }, measured)!.seconds, 2 * here.seconds);
  assert.equal(estimateDuration('pretrain', { ...values, 'model.blockSize': '64' }, measured)!.seconds, here.seconds / 2);
  assert.equal(estimateDuration('pretrain', { ...values, steps: 'many' }, measured), null);
  assert.equal(estimateDuration('sft', defaultValues('sft', project), measured), null);
  // the shared context lengths are packages/ml's
  for (const [preset, block] of Object.entries(PRESET_BLOCK_SIZE)) assert.equal(block, PRESETS[preset as keyof typeof PRESETS].blockSize, preset);
});

test('a learning rate far outside the usual range is flagged before starting, a usual one is not', () => {
  const values = defaultValues('pretrain', project);
  assert.equal(lrWarning('pretrain', values), null);
  assert.deepEqual(lrWarning('pretrain', { ...values, lr: '50' }), { key: 'jobs.form.lrHigh', default: 1e-3 });
  assert.deepEqual(lrWarning('pretrain', { ...values, lr: '1e-6' }), { key: 'jobs.form.lrLow', default: 1e-3 });
  assert.equal(lrWarning('sft', { ...defaultValues('sft', project), lr: '1e-3' }), null);
  assert.equal(lrWarning('generate', defaultValues('generate', project)), null);
});
