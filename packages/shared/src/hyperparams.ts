// Hyper-parameters of every job kind: one zod schema per kind, with defaults that train. The API
// validates a job's request against them (a 400 names the bad field, e.g. hyperparams.lr) and stores
// the parsed result, defaults filled in; the worker parses the stored value again before use.
// Field names are those of the trainers' configs in packages/ml, so the worker passes them through.
import { z } from 'zod';

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const rate = z.number().positive().max(100);
const seed = int(0, 2 ** 31 - 1);
/** Steps between resumable checkpoints (a retried job continues from the newest). */
const checkpointEvery = int(1, 1_000_000);

export const ModelPresetSchema = z.enum(['tiny', 'mini', 'small']);
/** Each preset's context length, as packages/ml's PRESETS has it (tests/ml/gpt.test.ts keeps them
 * equal): the start form's duration estimate counts tokens per step with it. */
export const PRESET_BLOCK_SIZE: Record<z.infer<typeof ModelPresetSchema>, number> = { tiny: 32, mini: 128, small: 256 };

/** Overrides of a preset's sizes (the vocabulary comes from the tokenizer). */
export const ModelShapeSchema = z
  .object({
    blockSize: int(8, 4096),
    nLayer: int(1, 48),
    nHead: int(1, 64),
    nEmbd: int(8, 4096),
    dropout: z.number().min(0).max(0.9),
  })
  .partial();

/** PEFT's target_modules names: Llama-family projections, then GPT-2's linears. The worker refuses
 * one the model's family lacks (invalid-config naming lora.targets). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'c_attn', 'c_proj', 'c_fc'] as const;

export const LoraSchema = z.object({
  rank: int(1, 256),
  alpha: z.number().positive().max(1024),
  /** Which modules take adapters; absent: q_proj and v_proj on Llama, every linear on GPT-2. */
  targets: z
    .array(z.enum(LORA_TARGETS))
    .min(1)
    .refine((t) => new Set(t).size === t.length, 'each target once')
    .optional(),
});

/** Learning-rate schedule and optimiser fields every trainer shares. */
const optimiser = {
  minLr: z.number().min(0).max(100),
  warmupSteps: int(0, 1_000_000),
  weightDecay: z.number().min(0).max(10),
  gradClip: z.number().min(0).max(1000),
};

/** minLr may not exceed lr: reported on minLr. */
function minLrAtMostLr(v: { lr: number; minLr: number }, ctx: z.RefinementCtx) {
  if (v.minLr > v.lr) ctx.addIssue({ code: 'custom', path: ['minLr'], message: `minLr (${v.minLr}) must not exceed lr (${v.lr})` });
}

// --- pretrain: corpus → tokenizer + base model ---------------------------------------------
export const PretrainHyperparamsSchema = z
  .object({
    preset: ModelPresetSchema.default('mini'),
    model: ModelShapeSchema.default({}),
    /** Tokenizer vocabulary: 256 bytes + merges + 5 special tokens. */
    vocabSize: int(262, 65_536).default(2048),
    steps: int(1, 1_000_000).default(2000),
    batchSize: int(1, 1024).default(16),
    lr: rate.default(1e-3),
    minLr: optimiser.minLr.default(1e-4),
    warmupSteps: optimiser.warmupSteps.default(100),
    weightDecay: optimiser.weightDecay.default(0.1),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.99),
    gradClip: optimiser.gradClip.default(1),
    valFraction: z.number().gt(0).max(0.5).default(0.1),
    evalEvery: int(1, 1_000_000).default(100),
    evalBatches: int(1, 1000).default(8),
    /** Overfitting: evaluations in a row with validation loss up while training loss falls. */
    patience: int(1, 1000).default(3),
    checkpointEvery: checkpointEvery.default(200),
    seed: seed.default(1337),
  })
  .superRefine((v, ctx) => {
    minLrAtMostLr(v, ctx);
    const nEmbd = v.model.nEmbd;
    const nHead = v.model.nHead;
    if (nEmbd !== undefined && nHead !== undefined && nEmbd % nHead !== 0) {
      ctx.addIssue({ code: 'custom', path: ['model', 'nEmbd'], message: `nEmbd (${nEmbd}) must be a multiple of nHead (${nHead})` });
    }
  });
export type PretrainHyperparams = z.infer<typeof PretrainHyperparamsSchema>;

// --- sft: base model + accepted demonstrations → SFT model -----------------------------------
export const SftHyperparamsSchema = z
  .object({
    /** null: full fine-tune; { rank, alpha }: LoRA adapters only. */
    lora: LoraSchema.nullable().default(null),
    epochs: int(1, 1000).default(3),
    batchSize: int(1, 1024).default(8),
    lr: rate.default(3e-4),
    minLr: optimiser.minLr.default(3e-5),
    warmupSteps: optimiser.warmupSteps.default(10),
    weightDecay: optimiser.weightDecay.default(0),
    gradClip: optimiser.gradClip.default(1),
    valFraction: z.number().min(0).max(0.5).default(0.1),
    evalEvery: int(1, 1_000_000).default(50),
    patience: int(1, 1000).default(3),
    checkpointEvery: checkpointEvery.default(50),
    seed: seed.default(1337),
  })
  .superRefine(minLrAtMostLr);
export type SftHyperparams = z.infer<typeof SftHyperparamsSchema>;

// --- generate: models + prompts → comparisons for raters -------------------------------------
export const GenerateHyperparamsSchema = z.object({
  /** K answers per prompt, spread over the models (default: the project's answersPerComparison). */
  answersPerPrompt: int(2, 16).optional(),
  /** Prompts taken when the request names none: the project's prompts without a comparison yet. */
  maxPrompts: int(1, 10_000).default(50),
  /** Rankings that close each comparison (default: the project's ratersPerComparison). */
  requiredRankings: int(1, 50).optional(),
  temperature: z.number().min(0).max(5).default(1),
  topK: int(0, 100_000).default(0),
  topP: z.number().gt(0).max(1).default(0.95),
  maxTokens: int(1, 4096).default(64),
  seed: seed.default(1),
  /**
   * Scores every answer for the policy comparison: the reward model's score, and the answer's
   * log-ratio log π − log π_ref against the reference (usually the SFT model the policies started
   * from; at temperature 1 and topP 1 its mean over a model's answers is that model's sampled KL).
   */
  judge: z.object({ rewardModelId: z.uuid(), referenceModelId: z.uuid() }).optional(),
});
export type GenerateHyperparams = z.infer<typeof GenerateHyperparamsSchema>;

// --- reward: a model + preference pairs (rankings → pairs) → reward model --------------------
export const RewardHyperparamsSchema = z
  .object({
    /** null: the whole model trains; { rank, alpha }: LoRA adapters and the head train. */
    lora: LoraSchema.nullable().default(null),
    /** InstructGPT trains its reward model for one epoch: more overfits. */
    epochs: int(1, 1000).default(1),
    /** Pairs per step, filled with whole rankings. */
    batchSize: int(1, 1024).default(16),
    lr: rate.default(1e-4),
    minLr: optimiser.minLr.default(1e-5),
    warmupSteps: optimiser.warmupSteps.default(10),
    weightDecay: optimiser.weightDecay.default(0),
    gradClip: optimiser.gradClip.default(1),
    /** λ of the penalty λ·(r_chosen + r_rejected)² keeping rewards centred on 0. */
    centerCoef: z.number().min(0).max(10).default(0.001),
    /** Share of the rankings held out to measure accuracy. */
    valFraction: z.number().min(0).max(0.5).default(0.1),
    evalEvery: int(1, 1_000_000).default(50),
    checkpointEvery: checkpointEvery.default(50),
    seed: seed.default(1337),
  })
  .superRefine(minLrAtMostLr);
export type RewardHyperparams = z.infer<typeof RewardHyperparamsSchema>;

// --- dpo: SFT model + preference pairs → policy ----------------------------------------------
export const DpoHyperparamsSchema = z
  .object({
    lora: LoraSchema.nullable().default(null),
    /** β: how strongly the policy is held to the reference (SFT) model. */
    beta: z.number().positive().max(100).default(0.1),
    epochs: int(1, 1000).default(2),
    batchSize: int(1, 1024).default(8),
    lr: rate.default(5e-5),
    minLr: optimiser.minLr.default(5e-6),
    warmupSteps: optimiser.warmupSteps.default(10),
    weightDecay: optimiser.weightDecay.default(0),
    gradClip: optimiser.gradClip.default(1),
    valFraction: z.number().min(0).max(0.5).default(0.1),
    evalEvery: int(1, 1_000_000).default(50),
    checkpointEvery: checkpointEvery.default(50),
    seed: seed.default(1337),
  })
  .superRefine(minLrAtMostLr);
export type DpoHyperparams = z.infer<typeof DpoHyperparamsSchema>;

// --- ppo: SFT model + reward model + prompts → policy ----------------------------------------
export const PpoHyperparamsSchema = z.object({
  lora: LoraSchema.nullable().default(null),
  iterations: int(1, 100_000).default(100),
  promptsPerIteration: int(1, 1024).default(8),
  /** Answers sampled per prompt; rollouts per iteration = prompts × samples. */
  samplesPerPrompt: int(1, 64).default(2),
  maxAnswerTokens: int(1, 4096).default(32),
  /** Optimisation epochs over each iteration's rollouts, in this many mini-batches. */
  ppoEpochs: int(1, 100).default(4),
  miniBatches: int(1, 1024).default(2),
  /** Constant learning rate. */
  lr: rate.default(5e-5),
  gradClip: optimiser.gradClip.default(1),
  clipRange: z.number().positive().max(10).default(0.2),
  valueClipRange: z.number().positive().max(10).default(0.2),
  vfCoef: z.number().min(0).max(100).default(0.1),
  gamma: z.number().min(0).max(1).default(1),
  lam: z.number().min(0).max(1).default(0.95),
  /** β of the per-token KL penalty to the SFT model. */
  klCoef: z.number().min(0).max(100).default(0.05),
  /** When set, β adapts so the KL per answer approaches this many nats. */
  klTarget: z.number().positive().max(1000).nullable().default(null),
  klHorizon: int(1, 1_000_000).default(1000),
  /** Bound on the KL per answer (nats) to the SFT model: passing it stops the run or warns (null = none). */
  maxKl: z.number().positive().max(10_000).nullable().default(20),
  onKlExceeded: z.enum(['stop', 'warn']).default('stop'),
  /** Iterations between resumable checkpoints. */
  checkpointEvery: checkpointEvery.default(10),
  seed: seed.default(1337),
});
export type PpoHyperparams = z.infer<typeof PpoHyperparamsSchema>;

// --- grpo: SFT model + reward model + prompts → policy (GRPO_DEFAULTS in packages/ml, kept equal by tests/shared) ---
export const GrpoHyperparamsSchema = z.object({
  lora: LoraSchema.nullable().default(null),
  iterations: int(1, 100_000).default(100),
  promptsPerIteration: int(1, 1024).default(4),
  /** G: answers per prompt whose rewards are normalised together (the group is the baseline: no value head). */
  groupSize: int(2, 256).default(8),
  maxAnswerTokens: int(1, 4096).default(32),
  temperature: z.number().positive().max(5).default(1),
  /** Optimisation epochs over each iteration's rollouts, in this many mini-batches. */
  grpoEpochs: int(1, 100).default(2),
  miniBatches: int(1, 1024).default(2),
  /** Divide advantages by the group's standard deviation (false: centre only, as Dr. GRPO). */
  scaleRewards: z.boolean().default(true),
  lr: rate.default(5e-5),
  gradClip: optimiser.gradClip.default(1),
  clipRange: z.number().positive().max(10).default(0.2),
  /** β of the KL term to the SFT model. */
  klCoef: z.number().min(0).max(100).default(0.04),
  klTarget: z.number().positive().max(1000).nullable().default(null),
  klHorizon: int(1, 1_000_000).default(1000),
  maxKl: z.number().positive().max(10_000).nullable().default(20),
  onKlExceeded: z.enum(['stop', 'warn']).default('stop'),
  checkpointEvery: checkpointEvery.default(10),
  seed: seed.default(1337),
});
export type GrpoHyperparams = z.infer<typeof GrpoHyperparamsSchema>;

// --- kto: SFT model + unpaired desirable / undesirable answers → policy (KTO_DEFAULTS in packages/ml) ---
export const KtoHyperparamsSchema = z
  .object({
    lora: LoraSchema.nullable().default(null),
    beta: z.number().positive().max(100).default(0.1),
    /** λ_D, λ_U: raise the rarer side's weight when the two are unbalanced. */
    desirableWeight: z.number().positive().max(100).default(1),
    undesirableWeight: z.number().positive().max(100).default(1),
    epochs: int(1, 1000).default(2),
    batchSize: int(1, 1024).default(8),
    lr: rate.default(5e-5),
    minLr: optimiser.minLr.default(5e-6),
    warmupSteps: optimiser.warmupSteps.default(10),
    weightDecay: optimiser.weightDecay.default(0),
    gradClip: optimiser.gradClip.default(1),
    valFraction: z.number().min(0).max(0.5).default(0.1),
    evalEvery: int(1, 1_000_000).default(50),
    checkpointEvery: checkpointEvery.default(50),
    seed: seed.default(1337),
  })
  .superRefine(minLrAtMostLr);
export type KtoHyperparams = z.infer<typeof KtoHyperparamsSchema>;

// --- best_of_n: SFT model + reward model + prompts → policy, by rejection sampling (BEST_OF_N_DEFAULTS in packages/ml) ---
export const BestOfNHyperparamsSchema = z
  .object({
    lora: LoraSchema.nullable().default(null),
    rounds: int(1, 100).default(1),
    /** N: answers sampled per prompt; the reward model keeps the best. */
    samplesPerPrompt: int(1, 256).default(8),
    maxAnswerTokens: int(1, 4096).default(32),
    temperature: z.number().positive().max(5).default(1),
    /** Prompts sampled per round (0: all of them). */
    promptsPerRound: int(0, 1_000_000).default(0),
    /** Fine-tuning epochs over each round's kept answers. */
    epochs: int(1, 1000).default(2),
    batchSize: int(1, 1024).default(8),
    lr: rate.default(1e-4),
    minLr: optimiser.minLr.default(1e-5),
    warmupSteps: optimiser.warmupSteps.default(10),
    weightDecay: optimiser.weightDecay.default(0),
    gradClip: optimiser.gradClip.default(1),
    checkpointEvery: checkpointEvery.default(50),
    seed: seed.default(1337),
  })
  .superRefine(minLrAtMostLr);
export type BestOfNHyperparams = z.infer<typeof BestOfNHyperparamsSchema>;

// --- import: uploaded files of a pre-trained model → base model ------------------------------
export const IMPORT_FORMATS = ['auto', 'hf', 'gguf', 'llama2c'] as const;
export const ImportFileSchema = z.object({
  /** basename, as stored under imports/<jobId>/ */
  name: z.string().min(1).max(255),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** uploaded in the part named `tokenizer` (llama2.c's tokenizer .bin) */
  tokenizer: z.boolean().default(false),
});
export type ImportFile = z.infer<typeof ImportFileSchema>;
export const ImportHyperparamsSchema = z.object({
  /** the registered model's name (default: the weights file's or folder's name) */
  name: z.string().trim().min(1).max(200).optional(),
  /** 'auto': the API sniffs the files and stores what it found */
  format: z.enum(IMPORT_FORMATS).default('auto'),
  /** registers the model as a child of this one (e.g. the model it was exported from and trained further) */
  parentId: z.uuid().optional(),
  files: z.array(ImportFileSchema).min(1).max(1000),
});
export type ImportHyperparams = z.infer<typeof ImportHyperparamsSchema>;

// --- export: a registered model → a folder other tools load (jobs/<jobId>/export/) ------------
/** hf: the whole model as a Hugging Face folder (LoRA merged in); merged: the same, said explicitly
 *  for a LoRA model; peft: only the LoRA adapters, as a PEFT adapter folder. */
export const EXPORT_FORMATS = ['hf', 'peft', 'merged'] as const;
export const ExportHyperparamsSchema = z.object({ format: z.enum(EXPORT_FORMATS).default('hf') });
export type ExportHyperparams = z.infer<typeof ExportHyperparamsSchema>;

export const HYPERPARAMS_SCHEMAS = {
  pretrain: PretrainHyperparamsSchema,
  sft: SftHyperparamsSchema,
  reward: RewardHyperparamsSchema,
  ppo: PpoHyperparamsSchema,
  dpo: DpoHyperparamsSchema,
  grpo: GrpoHyperparamsSchema,
  kto: KtoHyperparamsSchema,
  best_of_n: BestOfNHyperparamsSchema,
  generate: GenerateHyperparamsSchema,
  import: ImportHyperparamsSchema,
  export: ExportHyperparamsSchema,
} as const;
