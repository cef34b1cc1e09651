/**
 * The model interface every family implements, and the table that builds a model from its config.
 * Trainers, sampling, checkpoints and the worker hold a `CausalLM` and never name a family, so a
 * new architecture is one file here plus one row in FAMILIES.
 *
 *   const model = createModel({ family: 'llama', ...sizes });   // config.family absent = 'gpt'
 *   model.forward(idx, { targets, mask, training, seed, cache, head, logits })
 */
import type * as tf from '@tensorflow/tfjs';
import type { FrozenWeight } from '../kernels/frozen.ts';
import { GPT, type GPTConfig } from './gpt.ts';
import type { ForwardOptions, ForwardResult, KVCache, LoraConfig, ModelOptions } from './layers.ts';
import { Llama, type LlamaConfig } from './llama.ts';

export * from './layers.ts';
export * from './gpt.ts';
export * from './llama.ts';

export type ModelConfig = GPTConfig | LlamaConfig;
export type Family = NonNullable<ModelConfig['family']>;

/** A decoder-only language model with the optional LoRA adapters and scalar head the trainers use. */
export interface CausalLM {
  readonly config: ModelConfig;
  /** Every variable by stable name: checkpoints and optimizer slots are keyed by these. */
  readonly params: Record<string, tf.Variable>;
  /** Weights held outside the wasm heap (ModelOptions.freeze): read, never trained, not in `params`. */
  readonly frozen: Record<string, FrozenWeight>;
  /** Names of every weight, in `params` or `frozen`. */
  weightNames(): string[];
  shapeOf(name: string): number[];
  /** A weight's float32 values, in the heap or frozen (a frozen one's own array: never write to it). */
  weightValues(name: string): Float32Array;
  /** Moves frozen weights (all, or those named) into the heap, so they can train. */
  thaw(names?: string[]): void;
  readonly lora: LoraConfig | null;
  readonly hasHead: boolean;
  forward(idx: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;
  /** Value of lossFn and its gradients with respect to trainableNames(), keyed by name (those the
   * loss does not reach are left out). */
  gradients(lossFn: () => tf.Scalar): { loss: tf.Scalar; grads: Record<string, tf.Tensor> };
  /** Everything, or with LoRA on only the adapters; the head always. */
  trainableNames(): string[];
  trainable(): tf.Variable[];
  /** The names `lora.targets` may hold (PEFT's target_modules for this family). */
  readonly loraModules: readonly string[];
  addLora(lora: LoraConfig): void;
  mergeLora(): void;
  removeLora(): void;
  /** Adds the zero-initialised scalar head (reward model, PPO value) as `head.w`, `head.b`. */
  attachHead(): void;
  newCache(): KVCache;
  numParams(): number;
  dispose(): void;
}

type ModelFactory = (config: ModelConfig, opts: ModelOptions) => CausalLM;

const FAMILIES: Record<Family, ModelFactory> = {
  gpt: (c, o) => new GPT(c as GPTConfig, o),
  llama: (c, o) => new Llama(c as LlamaConfig, o),
};

/** Builds a model of the config's family, randomly initialised or on `opts.weights` (shared). */
export function createModel(config: ModelConfig, opts: ModelOptions = {}): CausalLM {
  const family = config.family ?? 'gpt';
  const make = FAMILIES[family];
  if (!make) throw new Error(`unknown model family "${family}" (expected ${Object.keys(FAMILIES).join(', ')})`);
  return make(config, opts);
}
