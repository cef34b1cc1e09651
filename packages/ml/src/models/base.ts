// What every model family shares, as transformers' PreTrainedModel is shared by its models:
// parameters by stable name with seeded initialisation, the scalar head, LoRA bookkeeping
// (W + A·B·alpha/rank on named linear weights), the trainable set and disposal. A family file
// supplies its config, its forward pass and which linear weights take adapters.
import * as tf from '@tensorflow/tfjs';
import { FrozenWeight, frozenGather, frozenMatMul } from '../kernels/frozen.ts';
import { nativeActive } from '../kernels/native.ts';
import { givenVariable, KVCache, namedGradients, type LoraConfig, type ModelOptions } from './layers.ts';

export abstract class ModelBase {
  abstract readonly config: { nEmbd: number };
  readonly params: Record<string, tf.Variable> = {};
  /** Weights held outside the wasm heap (kernels/frozen.ts): never trained, not in `params`. */
  readonly frozen: Record<string, FrozenWeight> = {};
  lora: LoraConfig | null = null;
  private nextInit = 0;
  private readonly seed: number;
  /** Weights to start from, during construction only (see ModelOptions). */
  private given: Pick<ModelOptions, 'weights' | 'values' | 'freeze'> | undefined;

  constructor(opts: ModelOptions) {
    this.seed = opts.seed ?? 1337;
    this.given = opts;
  }

  /** Ends construction: adapters and heads added later start fresh, never from given weights. */
  protected built(): void {
    this.given = undefined;
  }

  /** The given tensor, else N(0, std²); each draws from its own seed either way, so init repeats exactly. */
  protected normal(name: string, shape: number[], std: number): void {
    const seed = this.seed * 100003 + this.nextInit++;
    if (!this.takeGiven(name, shape)) this.params[name] = tf.variable(tf.tidy(() => tf.randomNormal(shape, 0, std, 'float32', seed)), true);
  }

  protected constant(name: string, shape: number[], value: number): void {
    if (!this.takeGiven(name, shape)) this.params[name] = tf.variable(tf.fill(shape, value), true);
  }

  /** Places a given weight: a shared frozen one or tensor as it is, raw values frozen (2-D, with
   * `freeze` on the native kernels) or copied into a variable. False when none is given. */
  private takeGiven(name: string, shape: number[]): boolean {
    const given = this.given?.weights?.[name];
    const values = this.given?.values?.[name];
    if (given instanceof FrozenWeight || (values && this.given?.freeze && shape.length === 2)) {
      const w = given instanceof FrozenWeight ? given : new FrozenWeight(values!, shape as [number, number]);
      if (w.shape.some((d, i) => d !== shape[i])) throw new Error(`${name}: given [${w.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
      if (nativeActive()) this.frozen[name] = w;
      else this.params[name] = variableOf(w.data, shape);
      return true;
    }
    if (values) {
      if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${name}: given ${values.length} values, the model needs [${shape.join(', ')}]`);
      this.params[name] = variableOf(values, shape);
      return true;
    }
    const v = givenVariable(this.given?.weights as Record<string, tf.Tensor> | undefined, name, shape);
    if (v) this.params[name] = v;
    return Boolean(v);
  }

  /** Every weight's name, in the heap or frozen. */
  weightNames(): string[] {
    return [...Object.keys(this.params), ...Object.keys(this.frozen)];
  }

  shapeOf(name: string): number[] {
    const w = this.frozen[name] ?? this.params[name];
    if (!w) throw new Error(`the model has no weight ${name}`);
    return [...w.shape];
  }

  /** A weight's float32 values (a frozen one's own array: do not write to it). */
  weightValues(name: string): Float32Array {
    return this.frozen[name]?.data ?? (this.params[name].dataSync() as Float32Array);
  }

  /** Moves frozen weights (all, or those named) into the heap as variables, so they can train. */
  thaw(names: string[] = Object.keys(this.frozen)): void {
    for (const name of names) {
      const w = this.frozen[name];
      if (!w) continue;
      this.params[name] = variableOf(w.data, w.shape);
      delete this.frozen[name];
    }
  }

  /** x·W for the weight `name` (x·Wᵀ with `transposeW`), frozen or in the heap. */
  protected product(x: tf.Tensor2D, name: string, transposeW = false): tf.Tensor2D {
    const frozen = this.frozen[name];
    return frozen ? frozenMatMul(x, frozen, transposeW) : tf.matMul(x, this.params[name], false, transposeW);
  }

  /** Rows `ids` (int32 [n]) of the table `name`, frozen or in the heap. */
  protected embed(name: string, ids: tf.Tensor1D): tf.Tensor2D {
    const frozen = this.frozen[name];
    return (frozen ? frozenGather(frozen, ids) : tf.gather(this.params[name], ids)) as tf.Tensor2D;
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
      const [fanIn, fanOut] = this.shapeOf(`${name}.w`);
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
      const delta = () => tf.matMul(this.params[a], this.params[`${base}.lora_b`]).mul(scale);
      const frozen = this.frozen[`${base}.w`];
      if (frozen) {
        // A new array: the frozen one may be shared with other models.
        const merged = tf.tidy(() => delta().dataSync() as Float32Array);
        for (let i = 0; i < merged.length; i++) merged[i] += frozen.data[i];
        this.frozen[`${base}.w`] = new FrozenWeight(merged, frozen.shape);
        continue;
      }
      const w = this.params[`${base}.w`];
      w.assign(tf.tidy(() => w.add(delta())));
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
    const untrainable = Object.keys(this.frozen).filter((name) => !this.lora || full.has(name));
    if (untrainable.length) throw new Error(`${untrainable[0]} is frozen outside the heap and cannot train: thaw() it first`);
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
    return [...Object.values(this.params), ...Object.values(this.frozen)].reduce((n, v) => n + v.size, 0);
  }

  newCache(): KVCache {
    return new KVCache();
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    for (const k of Object.keys(this.params)) delete this.params[k];
    for (const k of Object.keys(this.frozen)) delete this.frozen[k];
  }
}

/** A trainable variable holding a copy of `values` (the copy's only reference is the variable's). */
function variableOf(values: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(values, shape, 'float32');
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}
