// What every model family shares, as transformers' PreTrainedModel is shared by its models:
// parameters by stable name with seeded initialisation, the scalar head, LoRA bookkeeping
// (W + A·B·alpha/rank on named linear weights), the trainable set and disposal. A family file
// supplies its config, its forward pass and which linear weights take adapters.
import * as tf from '@tensorflow/tfjs';
import { givenVariable, KVCache, namedGradients, type LoraConfig, type ModelOptions } from './layers.ts';

export abstract class ModelBase {
  abstract readonly config: { nEmbd: number };
  readonly params: Record<string, tf.Variable> = {};
  lora: LoraConfig | null = null;
  private nextInit = 0;
  private readonly seed: number;
  /** Weights to start from, during construction only (see ModelOptions). */
  private given: ModelOptions['weights'];

  constructor(opts: ModelOptions) {
    this.seed = opts.seed ?? 1337;
    this.given = opts.weights;
  }

  /** Ends construction: adapters and heads added later start fresh, never from given weights. */
  protected built(): void {
    this.given = undefined;
  }

  /** The given tensor, else N(0, std²); each draws from its own seed either way, so init repeats exactly. */
  protected normal(name: string, shape: number[], std: number): void {
    const seed = this.seed * 100003 + this.nextInit++;
    this.params[name] = givenVariable(this.given, name, shape) ?? tf.variable(tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', seed)), true);
  }

  protected constant(name: string, shape: number[], value: number): void {
    this.params[name] = givenVariable(this.given, name, shape) ?? tf.variable(tf.fill(shape, value), true);
  }

  get hasHead(): boolean {
    return 'head.w' in this.params;
  }

  /** Adds a scalar head on the final hidden states (value model for PPO, reward model), zero at first. */
  attachHead(): void {
    if (this.hasHead) return;
    this.constant('head.w', [this.config.nEmbd, 1], 0);
    this.constant('head.b', [1], 0);
  }

  /** The weights (names without `.w`) that take adapters under `lora`, and the config to record. */
  protected abstract loraTargets(lora: LoraConfig): { weights: string[]; config: LoraConfig };

  /** Adds adapters W + A·B·alpha/rank; the base weights freeze. */
  addLora(lora: LoraConfig): void {
    if (this.lora) throw new Error('LoRA adapters are already attached');
    if (!(lora.rank >= 1) || !Number.isInteger(lora.rank)) throw new Error(`LoRA rank must be a positive integer, got ${lora.rank}`);
    const { weights, config } = this.loraTargets(lora);
    this.lora = config;
    for (const name of weights) {
      const [fanIn, fanOut] = this.params[`${name}.w`].shape;
      // B starts at zero, so the adapted model starts identical to the base one.
      this.normal(`${name}.lora_a`, [fanIn, lora.rank], 1 / Math.sqrt(fanIn));
      this.constant(`${name}.lora_b`, [lora.rank, fanOut], 0);
    }
  }

  /** Folds the adapters into the base weights and removes them. */
  mergeLora(): void {
    if (!this.lora) return;
    const scale = this.lora.alpha / this.lora.rank;
    for (const a of Object.keys(this.params).filter((n) => n.endsWith('.lora_a'))) {
      const base = a.slice(0, -'.lora_a'.length);
      const w = this.params[`${base}.w`];
      w.assign(tf.tidy(() => w.add(tf.matMul(this.params[a], this.params[`${base}.lora_b`]).mul(scale))));
    }
    this.removeLora();
  }

  /** Drops the adapters without merging (back to the base model). */
  removeLora(): void {
    for (const name of Object.keys(this.params).filter((n) => n.includes('.lora_'))) {
      this.params[name].dispose();
      delete this.params[name];
    }
    this.lora = null;
  }

  /** Names of the variables to optimise: everything, or with LoRA the adapters, the head and `fullyTrained`. */
  trainableNames(): string[] {
    const full = new Set(this.lora?.fullyTrained ?? []);
    return Object.keys(this.params).filter((name) => !this.lora || name.includes('.lora_') || name.startsWith('head.') || full.has(name));
  }

  trainable(): tf.Variable[] {
    return this.trainableNames().map((n) => this.params[n]);
  }

  /** Value of lossFn and its gradients with respect to the trainable variables, keyed by parameter name. */
  gradients(lossFn: () => tf.Scalar): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
    return namedGradients(this.params, this.trainableNames(), lossFn);
  }

  numParams(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }

  newCache(): KVCache {
    return new KVCache();
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    for (const k of Object.keys(this.params)) delete this.params[k];
  }
}
