// A model on disk: one folder holding
//   config.json     model config (with its family), LoRA/head flags, trainer state (step, best loss, …),
//                   and for an imported model where it came from
//   tokenizer.json  the tokenizer (its toJSON(); loadTokenizer tells the kinds apart by `type`)
//   weights.bin     float32 little-endian tensors back to back
//   optimizer.bin   AdamW moments, when saved for resuming
//   extra.bin       other tensors a trainer resumes with (e.g. the best weights so far), when given
//   manifest.json   name, shape and byte range of every tensor, and the sha256 of each .bin file
// Saving writes a sibling temp folder and renames it into place, so a process killed mid-save
// leaves the previous checkpoint readable. Files are written and read tensor by tensor (a model with
// frozen weights may pass the 4 GB a Buffer holds), and loading can keep the weights frozen outside
// the wasm heap (`{ frozen: true }`).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nativeActive } from './kernels/native.ts';
import { checkMemory } from './memory.ts';
import { createModel, type CausalLM, type LoraConfig, type ModelConfig } from './models/index.ts';
import { AdamW, type AdamWConfig } from './optim.ts';
import type { Provenance } from './formats/index.ts';
import { loadTokenizer, type Tokenizer } from './tokenizers/index.ts';

export const CHECKPOINT_FORMAT = 'jielong-gpt';

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  byteLength: number;
}

export interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  files: Record<string, { sha256: string; tensors: TensorEntry[] }>;
}

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  /** `family` is absent in checkpoints older than the Llama family: those are GPTs. */
  model: ModelConfig;
  lora: LoraConfig | null;
  head: boolean;
  optimizer?: { config: AdamWConfig; step: number };
  /** Whatever the trainer needs to resume (step, best validation loss, …). */
  state: Record<string, unknown>;
  /** Source format, architecture and input file hashes of an imported model. */
  provenance?: Provenance;
}

export interface SaveOptions {
  model: CausalLM;
  tokenizer?: { toJSON(): unknown };
  /** Saved too when given, so training can resume exactly. */
  optimizer?: AdamW;
  state?: Record<string, unknown>;
  /** Other named tensors a trainer needs to resume (e.g. its best weights so far). */
  extra?: Record<string, tf.Tensor>;
  provenance?: Provenance;
}

export interface LoadedCheckpoint {
  model: CausalLM;
  tokenizer: Tokenizer | null;
  /** Restored moments and step, when the checkpoint has them. */
  optimizer: AdamW | null;
  state: Record<string, unknown>;
  /** The extra tensors saved with it ({} when none); the caller disposes them. */
  extra: Record<string, tf.Tensor>;
  provenance?: Provenance;
}

/** A tensor to write: its name, shape and (read when written) values. */
type Writable = [name: string, shape: number[], values: () => Float32Array];

const heapTensors = (tensors: Record<string, tf.Tensor>): Writable[] =>
  Object.entries(tensors).map(([name, t]) => [name, t.shape, () => t.dataSync() as Float32Array]);

/** Writes tensors back to back into `path`, one at a time (no buffer of the whole file: a frozen
 * model's weights may pass 4 GB), hashing as it goes. */
async function writeTensors(path: string, tensors: Writable[]): Promise<{ sha256: string; tensors: TensorEntry[] }> {
  const hash = createHash('sha256');
  const entries: TensorEntry[] = [];
  const file = await open(path, 'w');
  try {
    let offset = 0;
    for (const [name, shape, values] of tensors) {
      const data = values();
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (let done = 0; done < bytes.byteLength; ) done += (await file.write(bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done))).bytesWritten;
      hash.update(bytes);
      entries.push({ name, shape, offset, byteLength: bytes.byteLength });
      offset += bytes.byteLength;
    }
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), tensors: entries };
}

/** Node reads and writes at most 2 GiB per call. */
const IO_CHUNK = 1 << 30;

/** Writes a checkpoint folder atomically (temp folder, then rename). */
export async function saveCheckpoint(dir: string, { model, tokenizer, optimizer, state = {}, extra, provenance }: SaveOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, version: 1, files: {} };

  manifest.files['weights.bin'] = await writeTensors(join(tmp, 'weights.bin'), model.weightNames().map((n) => [n, model.shapeOf(n), () => model.weightValues(n)]));

  const config: CheckpointConfig = { format: CHECKPOINT_FORMAT, version: 1, model: model.config, lora: model.lora, head: model.hasHead, state };
  if (provenance) config.provenance = provenance;
  if (optimizer) {
    const moments = Object.fromEntries(Object.entries(optimizer.slots).flatMap(([n, s]) => [[`${n}.m`, s.m], [`${n}.v`, s.v]]));
    manifest.files['optimizer.bin'] = await writeTensors(join(tmp, 'optimizer.bin'), heapTensors(moments));
    config.optimizer = { config: optimizer.config, step: optimizer.step };
  }
  if (extra) {
    manifest.files['extra.bin'] = await writeTensors(join(tmp, 'extra.bin'), heapTensors(extra));
  }
  if (tokenizer) await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  await writeFile(join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));

  const old = `${dir}.old`;
  await rm(old, { recursive: true, force: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** True when dir (or the copy a save in progress set aside) holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) || existsSync(join(`${dir}.old`, 'manifest.json'));
}

async function readTensors(dir: string, manifest: Manifest, file: string): Promise<Map<string, tf.Tensor>> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, { shape, data }] of await readArrays(dir, manifest, file)) out.set(name, tf.tensor(data, shape, 'float32'));
  return out;
}

/** Every tensor of a checkpoint file as a float32 array, read tensor by tensor (a file may pass the
 * 2 GiB a single read allows) and checked against the file's sha256. */
async function readArrays(dir: string, manifest: Manifest, file: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const info = manifest.files[file];
  const path = join(dir, file);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    let offset = 0;
    for (const e of info.tensors) {
      if (e.offset !== offset) throw new Error(`checkpoint ${path}: ${e.name} does not start where the previous tensor ends`);
      // A fresh Float32Array is 4-byte aligned; the bytes go straight into it.
      const data = new Float32Array(e.byteLength / 4);
      const bytes = new Uint8Array(data.buffer);
      for (let done = 0; done < bytes.byteLength; ) {
        const { bytesRead } = await fh.read(bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), offset + done);
        if (bytesRead === 0) throw new Error(`checkpoint ${path} is truncated (in ${e.name})`);
        done += bytesRead;
      }
      hash.update(bytes);
      out.set(e.name, { shape: e.shape, data });
      offset += e.byteLength;
    }
    if (offset !== (await fh.stat()).size) throw new Error(`checkpoint ${path} is corrupt (not the size its manifest gives)`);
  } finally {
    await fh.close();
  }
  if (hash.digest('hex') !== info.sha256) throw new Error(`checkpoint ${path} is corrupt (sha256 mismatch)`);
  return out;
}

export interface LoadOptions {
  /** Hold the 2-D base weights outside the wasm heap, never trained (ModelOptions.freeze): for
   * sampling, scoring, LoRA's base; a trainer thaw()s what it trains in full. */
  frozen?: boolean;
}

/** Loads a checkpoint folder bit-exactly: weights, LoRA adapters, head, optimizer moments, tokenizer. */
export async function loadCheckpoint(dir: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  if (!existsSync(join(dir, 'manifest.json')) && existsSync(join(`${dir}.old`, 'manifest.json'))) dir = `${dir}.old`;
  if (!existsSync(join(dir, 'manifest.json'))) throw new Error(`no checkpoint in ${dir} (manifest.json missing)`);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as CheckpointConfig;
  if (manifest.format !== CHECKPOINT_FORMAT || config.format !== CHECKPOINT_FORMAT) throw new Error(`${dir} is not a ${CHECKPOINT_FORMAT} checkpoint`);

  const frozen = Boolean(opts.frozen) && nativeActive();
  checkMemory(config.model, 'sample', { frozen });
  const values = new Map([...(await readArrays(dir, manifest, 'weights.bin'))].map(([name, { data }]) => [name, data]));
  // Built on the saved values (no random initialisation first); adapters and the head come after.
  const model = createModel(config.model, { seed: 0, values: Object.fromEntries(values), freeze: frozen });
  if (config.lora) model.addLora(config.lora);
  if (config.head) model.attachHead();
  const missing = model.weightNames().find((name) => !values.has(name));
  if (missing) {
    model.dispose();
    throw new Error(`checkpoint ${dir} lacks tensor ${missing}`);
  }
  for (const name of Object.keys(model.params).filter((n) => n.includes('.lora_') || n.startsWith('head.'))) {
    const v = model.params[name];
    tf.tidy(() => v.assign(tf.tensor(values.get(name)!, v.shape, 'float32')));
  }

  let optimizer: AdamW | null = null;
  if (config.optimizer && manifest.files['optimizer.bin']) {
    optimizer = new AdamW(config.optimizer.config);
    optimizer.step = config.optimizer.step;
    const moments = await readTensors(dir, manifest, 'optimizer.bin');
    for (const [key, t] of moments) {
      const kind = key.endsWith('.m') ? 'm' : 'v';
      const name = key.slice(0, -2);
      const slot = (optimizer.slots[name] ??= { m: null!, v: null! });
      slot[kind] = tf.variable(t, false);
      t.dispose();
    }
  }
  const extra = manifest.files['extra.bin'] ? Object.fromEntries(await readTensors(dir, manifest, 'extra.bin')) : {};
  const tokPath = join(dir, 'tokenizer.json');
  const tokenizer = existsSync(tokPath) ? loadTokenizer(JSON.parse(await readFile(tokPath, 'utf8'))) : null;
  return { model, tokenizer, optimizer, state: config.state ?? {}, extra, provenance: config.provenance };
}
