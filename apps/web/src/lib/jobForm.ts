// The start-job form as data: per job kind, which input models it takes (and of which kinds), which
// hyper-parameters are shown up front and which sit behind "advanced", and how the form's text
// fields become the request body. Defaults come from the shared zod schemas, so the form shows
// exactly what the API would fill in.
import { HYPERPARAMS_SCHEMAS, PRESET_BLOCK_SIZE, type TrainingJobKind, type Model, type ModelKind, type Throughput } from '@jielong/shared';

export const JOB_KINDS: readonly TrainingJobKind[] = ['pretrain', 'sft', 'reward', 'ppo', 'dpo', 'grpo', 'kto', 'best_of_n', 'generate'];

export interface ModelInput {
  /** request field; judge.*: a generate job's judge, sent in hyperparams */
  field: 'baseModelId' | 'policyModelId' | 'rewardModelId' | 'modelIds' | 'judge.rewardModelId' | 'judge.referenceModelId';
  /** model kinds the API accepts, the usual one first (it is preselected) */
  kinds: ModelKind[];
  multiple?: boolean;
  /** may be left empty (none is preselected) */
  optional?: boolean;
}

/** Model inputs sent inside `hyperparams` rather than beside it. */
export const inHyperparams = (input: ModelInput) => input.field.startsWith('judge.');

/** Same rules as the API's (apps/api/src/routes/jobs.ts), with the usual kind first. */
export const MODEL_INPUTS: Record<TrainingJobKind, ModelInput[]> = {
  pretrain: [],
  sft: [{ field: 'baseModelId', kinds: ['base', 'sft', 'policy'] }],
  reward: [{ field: 'baseModelId', kinds: ['sft', 'base'] }],
  ppo: [
    { field: 'policyModelId', kinds: ['sft', 'policy', 'base'] },
    { field: 'rewardModelId', kinds: ['reward'] },
  ],
  dpo: [{ field: 'policyModelId', kinds: ['sft', 'policy', 'base'] }],
  grpo: [
    { field: 'policyModelId', kinds: ['sft', 'policy', 'base'] },
    { field: 'rewardModelId', kinds: ['reward'] },
  ],
  kto: [{ field: 'policyModelId', kinds: ['sft', 'policy', 'base'] }],
  best_of_n: [
    { field: 'policyModelId', kinds: ['sft', 'policy', 'base'] },
    { field: 'rewardModelId', kinds: ['reward'] },
  ],
  generate: [
    { field: 'modelIds', kinds: ['sft', 'policy', 'base'], multiple: true },
    // the policy comparison: every answer scored by a reward model and its log-ratio to a reference
    { field: 'judge.rewardModelId', kinds: ['reward'], optional: true },
    { field: 'judge.referenceModelId', kinds: ['sft', 'policy', 'base'], optional: true },
  ],
};

/** Hyper-parameters by dotted path: the main ones, then the advanced ones. */
export const HP_FIELDS: Record<TrainingJobKind, { main: string[]; advanced: string[] }> = {
  pretrain: {
    main: ['preset', 'steps', 'batchSize', 'lr', 'vocabSize'],
    advanced: [
      'model.blockSize', 'model.nLayer', 'model.nHead', 'model.nEmbd', 'model.dropout',
      'minLr', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'gradClip',
      'valFraction', 'evalEvery', 'evalBatches', 'patience', 'checkpointEvery', 'seed',
    ],
  },
  sft: {
    main: ['epochs', 'batchSize', 'lr', 'lora'],
    advanced: ['minLr', 'warmupSteps', 'weightDecay', 'gradClip', 'valFraction', 'evalEvery', 'patience', 'checkpointEvery', 'seed'],
  },
  reward: {
    main: ['epochs', 'batchSize', 'lr', 'lora'],
    advanced: ['minLr', 'warmupSteps', 'weightDecay', 'gradClip', 'centerCoef', 'valFraction', 'evalEvery', 'checkpointEvery', 'seed'],
  },
  ppo: {
    main: ['iterations', 'promptsPerIteration', 'samplesPerPrompt', 'lr', 'klCoef', 'lora'],
    advanced: [
      'maxAnswerTokens', 'ppoEpochs', 'miniBatches', 'gradClip', 'clipRange', 'valueClipRange', 'vfCoef',
      'gamma', 'lam', 'klTarget', 'klHorizon', 'maxKl', 'onKlExceeded', 'checkpointEvery', 'seed',
    ],
  },
  dpo: {
    main: ['beta', 'epochs', 'batchSize', 'lr', 'lora'],
    advanced: ['minLr', 'warmupSteps', 'weightDecay', 'gradClip', 'valFraction', 'evalEvery', 'checkpointEvery', 'seed'],
  },
  grpo: {
    main: ['iterations', 'promptsPerIteration', 'groupSize', 'lr', 'klCoef', 'lora'],
    advanced: [
      'maxAnswerTokens', 'temperature', 'grpoEpochs', 'miniBatches', 'scaleRewards', 'gradClip', 'clipRange',
      'klTarget', 'klHorizon', 'maxKl', 'onKlExceeded', 'checkpointEvery', 'seed',
    ],
  },
  kto: {
    main: ['beta', 'epochs', 'batchSize', 'lr', 'lora'],
    advanced: ['desirableWeight', 'undesirableWeight', 'minLr', 'warmupSteps', 'weightDecay', 'gradClip', 'valFraction', 'evalEvery', 'checkpointEvery', 'seed'],
  },
  best_of_n: {
    main: ['rounds', 'samplesPerPrompt', 'epochs', 'lr', 'lora'],
    advanced: ['promptsPerRound', 'maxAnswerTokens', 'temperature', 'batchSize', 'minLr', 'warmupSteps', 'weightDecay', 'gradClip', 'checkpointEvery', 'seed'],
  },
  generate: {
    main: ['answersPerPrompt', 'maxPrompts', 'temperature', 'maxTokens'],
    advanced: ['requiredRankings', 'topK', 'topP', 'seed'],
  },
};

export const HP_CHOICES: Record<string, string[]> = { preset: ['tiny', 'mini', 'small'], onKlExceeded: ['stop', 'warn'], scaleRewards: ['true', 'false'] };
/** Choices sent as booleans. */
const HP_BOOLEAN = new Set(['scaleRewards']);
/** Fields where an empty box means null ("none"), not "the default". */
export const HP_NULLABLE = new Set(['klTarget', 'maxKl']);
const LORA_DEFAULT = { rank: '8', alpha: '16' };

/** The form's state: every hyper-parameter as the text in its box (lora: 'on' or ''). */
export type HpValues = Record<string, string>;

function get(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function set(obj: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys.at(-1)!] = value;
}

/** The schema's defaults as form text; generate's K and raters default to the project's settings. */
export function defaultValues(kind: TrainingJobKind, project: { answersPerComparison: number; ratersPerComparison: number }): HpValues {
  const defaults = HYPERPARAMS_SCHEMAS[kind].parse({}) as Record<string, unknown>;
  if (kind === 'generate') Object.assign(defaults, { answersPerPrompt: project.answersPerComparison, requiredRankings: project.ratersPerComparison });
  const values: HpValues = {};
  for (const path of [...HP_FIELDS[kind].main, ...HP_FIELDS[kind].advanced]) {
    const v = get(defaults, path);
    if (path === 'lora') {
      values.lora = v ? 'on' : '';
      values['lora.rank'] = v ? String((v as { rank: number }).rank) : LORA_DEFAULT.rank;
      values['lora.alpha'] = v ? String((v as { alpha: number }).alpha) : LORA_DEFAULT.alpha;
      values['lora.targets'] = ((v as { targets?: string[] } | null)?.targets ?? []).join(', ');
    } else {
      values[path] = v === undefined || v === null ? '' : String(v);
    }
  }
  return values;
}

/**
 * The request's `hyperparams` from the form, or the paths whose text is not a number. Empty boxes
 * are left out (the API fills the default), except nullable ones, which become null.
 */
export function hyperparamsFromForm(kind: TrainingJobKind, values: HpValues): { hyperparams: Record<string, unknown>; notNumbers: string[] } {
  const hyperparams: Record<string, unknown> = {};
  const notNumbers: string[] = [];
  const number = (path: string) => {
    const text = values[path]?.trim() ?? '';
    if (text === '') return undefined;
    const n = Number(text);
    if (!Number.isFinite(n)) notNumbers.push(path);
    return n;
  };
  for (const path of [...HP_FIELDS[kind].main, ...HP_FIELDS[kind].advanced]) {
    if (path === 'lora') {
      // targets: PEFT's module names, separated by commas or spaces; none means the family's default
      const targets = (values['lora.targets'] ?? '').split(/[\s,]+/).filter(Boolean);
      set(hyperparams, 'lora', values.lora ? { rank: number('lora.rank'), alpha: number('lora.alpha'), ...(targets.length ? { targets } : {}) } : null);
    } else if (HP_CHOICES[path]) {
      set(hyperparams, path, HP_BOOLEAN.has(path) ? values[path] === 'true' : values[path]);
    } else {
      const n = number(path);
      if (n !== undefined) set(hyperparams, path, n);
      else if (HP_NULLABLE.has(path)) set(hyperparams, path, null);
    }
  }
  return { hyperparams, notNumbers };
}

/** Models a picker offers: those of the accepted kinds, the usual kind first, newest first within a kind. */
export function modelsFor(input: ModelInput, models: Model[]): Model[] {
  const rank = (m: Model) => input.kinds.indexOf(m.kind);
  return models
    .filter((m) => rank(m) >= 0)
    .sort((a, b) => rank(a) - rank(b) || b.createdAt.localeCompare(a.createdAt));
}

/** The form field an API error names: "hyperparams.lr" → "lr", "modelIds.1" → "modelIds". */
export function formField(apiField: string | undefined): string | undefined {
  if (!apiField) return undefined;
  // hyperparams.lora.targets.1 → lora.targets: the box holds the whole list
  if (apiField.startsWith('hyperparams.')) return apiField.slice('hyperparams.'.length).replace(/^(lora\.targets)\.\d+$/, '$1');
  return apiField.replace(/\.\d+$/, '');
}

/** A learning rate far outside the usual range of its kind: ten times the default or more, or a hundredth or less. */
export function lrWarning(kind: TrainingJobKind, values: HpValues): { key: 'jobs.form.lrHigh' | 'jobs.form.lrLow'; default: number } | null {
  const lr = Number(values.lr?.trim() || NaN);
  const fallback = (HYPERPARAMS_SCHEMAS[kind].parse({}) as { lr?: number }).lr;
  if (!Number.isFinite(lr) || lr <= 0 || fallback === undefined) return null;
  if (lr >= 10 * fallback) return { key: 'jobs.form.lrHigh', default: fallback };
  if (lr <= fallback / 100) return { key: 'jobs.form.lrLow', default: fallback };
  return null;
}

/**
 * Tokens per wall-clock second of each preset on the development machine (2 cores shared with other
 * work, load about 4.6, 2026-12-01): the first guess until a job has run here. mini: 200 default
 * steps in 97.8 s (evaluation included); tiny and small: their per-step speeds (56,000 and 900)
 * scaled by the same 3.3× gap between per-step and wall-clock speed.
 */
export const FIRST_GUESS_TOKENS_PER_SECOND: Record<keyof typeof PRESET_BLOCK_SIZE, number> = { tiny: 17_000, mini: 4_200, small: 270 };

export interface Estimate {
  seconds: number;
  preset: string;
  tokensPerSecond: number;
  /** Jobs the speed was measured on here (0: the first guess). */
  jobs: number;
}

/**
 * How long a pre-training job with these settings takes here: its training tokens (steps × batch ×
 * context) at the wall-clock speed measured for its preset (evaluations included in that speed).
 * Null for other kinds, or settings that are not numbers yet.
 */
export function estimateDuration(kind: TrainingJobKind, values: HpValues, measured: readonly Throughput[]): Estimate | null {
  if (kind !== 'pretrain') return null;
  const defaults = HYPERPARAMS_SCHEMAS.pretrain.parse({});
  const num = (path: string, fallback: number) => {
    const text = values[path]?.trim() ?? '';
    return text === '' ? fallback : Number(text);
  };
  const preset = (values.preset || defaults.preset) as keyof typeof PRESET_BLOCK_SIZE;
  if (!(preset in PRESET_BLOCK_SIZE)) return null;
  const steps = num('steps', defaults.steps);
  const batch = num('batchSize', defaults.batchSize);
  const block = num('model.blockSize', PRESET_BLOCK_SIZE[preset]);
  if (![steps, batch, block].every((n) => Number.isFinite(n) && n > 0)) return null;
  const here = measured.find((m) => m.kind === 'pretrain' && m.preset === preset && m.tokensPerSecond > 0);
  const tokensPerSecond = here?.tokensPerSecond ?? FIRST_GUESS_TOKENS_PER_SECOND[preset];
  return { seconds: (steps * batch * block) / tokensPerSecond, preset, tokensPerSecond, jobs: here?.jobs ?? 0 };
}
