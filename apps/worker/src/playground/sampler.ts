// The worker's handle on its sampling thread (sampler-thread.ts): started on the first reply,
// started again if it dies, one answer at a time.
import { Worker } from 'node:worker_threads';
import type { ChatTurn } from '@jielong/ml';
import type { SamplingSettings } from '@jielong/shared';

export interface SamplerInit {
  backend: string;
  /** how long an unused model stays loaded */
  warmMs: number;
  /** how many models stay loaded at most */
  maxWarm: number;
}

export interface SamplerRequest {
  /** the model's local folder (config.json, tokenizer.json, weights) */
  dir: string;
  turns: ChatTurn[];
  sampling: SamplingSettings;
  /** Int32 flag: 1 stops the answer at its next token */
  stop: SharedArrayBuffer;
}

export interface SamplerDone {
  type: 'done';
  text: string;
  finish: 'stop' | 'length' | 'stopped';
  stats: { promptTokens: number; tokens: number; loadMs: number; firstTokenMs?: number; ms: number };
}

export type SamplerReply = { type: 'ready' } | { type: 'delta'; text: string } | SamplerDone | { type: 'error'; message: string };

export interface Sampling {
  done: Promise<SamplerDone>;
  /** ends the answer at its next token (done resolves with finish 'stopped') */
  stop(): void;
}

export class Sampler {
  private thread: Worker | null = null;
  private ready: Promise<void> | null = null;
  private current: { onDelta: (text: string) => void; resolve: (d: SamplerDone) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly init: SamplerInit) {}

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const thread = new Worker(new URL('./sampler-thread.mjs', import.meta.url), { workerData: this.init });
    thread.unref();
    this.thread = thread;
    this.ready = new Promise<void>((resolve, reject) => {
      thread.on('message', (m: SamplerReply) => {
        if (m.type === 'ready') return resolve();
        const current = this.current;
        if (m.type === 'delta') return current?.onDelta(m.text);
        this.current = null;
        if (m.type === 'done') current?.resolve(m);
        else if (current) current.reject(new Error(m.message));
        else reject(new Error(m.message));
      });
      const died = (err: Error) => {
        reject(err);
        this.current?.reject(err);
        this.current = null;
        this.thread = null;
        this.ready = null;
      };
      thread.on('error', died);
      thread.on('exit', (code) => died(new Error(`the sampling thread exited (code ${code})`)));
    });
    return this.ready;
  }

  sample(req: Omit<SamplerRequest, 'stop'>, onDelta: (text: string) => void): Sampling {
    if (this.current) throw new Error('the sampler answers one reply at a time');
    const stop = new SharedArrayBuffer(4);
    const done = this.start().then(
      () =>
        new Promise<SamplerDone>((resolve, reject) => {
          this.current = { onDelta, resolve, reject };
          this.thread!.postMessage({ ...req, stop } satisfies SamplerRequest);
        }),
    );
    return { done, stop: () => Atomics.store(new Int32Array(stop), 0, 1) };
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    this.ready = null;
    await thread?.terminate();
  }
}
