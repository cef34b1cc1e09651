// Data-parallel gradients: the wasm backend runs on one thread, so a batch is split into shards,
// one per thread. This thread computes shard 0 while worker threads, each with its own copy of the
// model, compute the others; weights go out and gradients come back through shared memory.
// Only the language-model loss (targets + optional mask) is computed on workers.
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { CausalLM, LoraConfig, ModelConfig } from './models/index.ts';

export interface LmBatch {
  /** Token ids and next-token targets, [rows, T] row-major. */
  x: Int32Array;
  y: Int32Array;
  /** Loss mask [rows, T]; all ones when absent. */
  mask?: Float32Array;
  rows: number;
  T: number;
}

interface Slot {
  name: string;
  shape: number[];
  /** Offset in the shared weights buffer. */
  offset: number;
  size: number;
  /** Offset in each worker's shared gradient buffer (trainable variables only). */
  gradOffset: number;
}

export interface WorkerInit {
  config: ModelConfig;
  lora: LoraConfig | null;
  head: boolean;
  backend: string;
  slots: Slot[];
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
}

export interface WorkerStep {
  batch: LmBatch;
  training: boolean;
  seed: number;
}

export interface WorkerReply {
  loss: number;
  error?: string;
}

/** Copies slots of the shared weights buffer into the model's variables. */
export function loadWeights(model: CausalLM, weights: Float32Array, slots: Slot[]): void {
  tf.tidy(() => {
    for (const s of slots) model.params[s.name].assign(tf.tensor(weights.subarray(s.offset, s.offset + s.size), s.shape));
  });
}

function layout(model: CausalLM): { slots: Slot[]; weightsSize: number; gradsSize: number } {
  const trainable = new Set(model.trainableNames());
  let offset = 0;
  let gradOffset = 0;
  const slots = Object.entries(model.params).map(([name, v]) => {
    const s: Slot = { name, shape: v.shape, offset, size: v.size, gradOffset: trainable.has(name) ? gradOffset : -1 };
    offset += v.size;
    if (trainable.has(name)) gradOffset += v.size;
    return s;
  });
  return { slots, weightsSize: offset, gradsSize: gradOffset };
}

function rowsOf(b: LmBatch, from: number, to: number): LmBatch {
  const span = (a: Int32Array | Float32Array) => a.slice(from * b.T, to * b.T);
  return { x: span(b.x) as Int32Array, y: span(b.y) as Int32Array, mask: b.mask && (span(b.mask) as Float32Array), rows: to - from, T: b.T };
}

/** Masked token count: the weight of a shard's mean loss in the batch mean. */
const tokens = (b: LmBatch) => (b.mask ? b.mask.reduce((s, v) => s + v, 0) : b.rows * b.T);

/** Mean language-model loss of a batch (as every CausalLM's forward computes it). */
export function lmLoss(model: CausalLM, b: LmBatch, training: boolean, seed: number): tf.Scalar {
  const x = tf.tensor2d(b.x, [b.rows, b.T], 'int32');
  const y = tf.tensor2d(b.y, [b.rows, b.T], 'int32');
  const mask = b.mask ? tf.tensor2d(b.mask, [b.rows, b.T]) : undefined;
  return model.forward(x, { targets: y, mask, training, seed }).loss!;
}

export class GradientWorkers {
  private constructor(
    private readonly workers: Worker[],
    private readonly weights: Float32Array,
    private readonly grads: Float32Array[],
    private readonly trainable: Slot[],
  ) {}

  /** Threads used, this one included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Starts `threads − 1` workers holding copies of `model` (its current weights, LoRA and head). */
  static async start(model: CausalLM, threads: number): Promise<GradientWorkers> {
    const { slots, weightsSize, gradsSize } = layout(model);
    const weights = new Float32Array(new SharedArrayBuffer(weightsSize * 4));
    for (const s of slots) weights.set(model.params[s.name].dataSync() as Float32Array, s.offset);
    const grads: Float32Array[] = [];
    const workers: Worker[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const g = new Float32Array(new SharedArrayBuffer(gradsSize * 4));
        const init: WorkerInit = {
          config: model.config,
          lora: model.lora,
          head: model.hasHead,
          backend: tf.getBackend(),
          slots,
          weights: weights.buffer as SharedArrayBuffer,
          grads: g.buffer as SharedArrayBuffer,
        };
        const w = new Worker(new URL('./parallel-worker.mjs', import.meta.url), { workerData: init });
        workers.push(w);
        grads.push(g);
        await new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`gradient worker failed to start: ${m.error}`))));
          w.once('error', reject);
        });
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GradientWorkers(workers, weights, grads, slots.filter((s) => s.gradOffset >= 0));
  }

  /**
   * Loss and gradients of the trainable variables for `batch`, averaged over all its (masked-in)
   * tokens as a single-thread pass would, keyed by parameter name. The caller disposes the grads.
   */
  async gradients(model: CausalLM, batch: LmBatch, opts: { training: boolean; seed: number }): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
    const n = this.threads;
    const bounds = Array.from({ length: n + 1 }, (_, i) => Math.round((i * batch.rows) / n));
    const shards = bounds.slice(0, n).map((from, i) => rowsOf(batch, from, bounds[i + 1]));
    for (const s of this.trainable) this.weights.set(model.params[s.name].dataSync() as Float32Array, s.offset);
    const replies = this.workers.map(
      (w, i) =>
        new Promise<WorkerReply>((resolve, reject) => {
          // Listeners for this step only: ones left behind would pile up, one per step.
          const onMessage = (reply: WorkerReply) => {
            w.off('error', onError);
            resolve(reply);
          };
          const onError = (err: Error) => {
            w.off('message', onMessage);
            reject(err);
          };
          w.once('message', onMessage);
          w.once('error', onError);
          const step: WorkerStep = { batch: shards[i + 1], training: opts.training, seed: opts.seed * 31 + i + 1 };
          w.postMessage(step);
        }),
    );
    // This thread's shard, while the workers compute theirs.
    const own = tf.tidy(() => {
      const r = model.gradients(() => lmLoss(model, shards[0], opts.training, opts.seed * 31));
      return { loss: r.loss.dataSync()[0], grads: r.grads };
    });
    const done = await Promise.all(replies);
    const failed = done.find((r) => r.error);
    if (failed) {
      tf.dispose(Object.values(own.grads));
      throw new Error(`gradient worker failed: ${failed.error}`);
    }
    const counts = shards.map(tokens);
    const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
    const w = counts.map((c) => c / total);
    const grads = tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {};
      for (const s of this.trainable) {
        let g = own.grads[s.name].mul(w[0]);
        this.grads.forEach((buf, i) => {
          g = g.add(tf.tensor(buf.subarray(s.gradOffset, s.gradOffset + s.size), s.shape).mul(w[i + 1]));
        });
        out[s.name] = g;
      }
      return out;
    });
    tf.dispose(Object.values(own.grads));
    const loss = own.loss * w[0] + done.reduce((sum, r, i) => sum + r.loss * w[i + 1], 0);
    return { loss, grads };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
