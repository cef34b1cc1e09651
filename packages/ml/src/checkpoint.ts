// A model on disk: one folder holding
//   config.json     model config (with its family), LoRA/head flags, trainer state (step, best loss, …),
//                   and for an imported model where it came from
//   tokenizer.json  the tokenizer (its toJSON(); loadTokenizer tells the kinds apart by `type`)
//   weights.bin     float32 little-endian tensors back to back
//   optimizer.bin   AdamW moments, when saved for resuming
//   extra.bin       other tensors a trainer resumes with (e.g. the best weights so far), when given
//   manifest.json   name, shape and byte range of every tensor, and the sha256 of each .bin file
// Saving writes a sibling temp folder and renames it into place, so a process killed mid-save
// leaves the previous checkpoint readable.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
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

function pack(tensors: [string, tf.Tensor][]): { bytes: Buffer; entries: TensorEntry[] } {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    entries.push({ name, shape: t.shape, offset, byteLength: t.size * 4 });
    offset += t.size * 4;
  }
  const bytes = Buffer.alloc(offset);
  tensors.forEach(([, t], i) => {
    const data = t.dataSync() as Float32Array;
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(bytes, entries[i].offset);
  });
  return { bytes, entries };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Writes a checkpoint folder atomically (temp folder, then rename). */
export async function saveCheckpoint(dir: string, { model, tokenizer, optimizer, state = {}, extra, provenance }: SaveOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const manifest: Manifest = { format: CHECKPOINT_FORMAT, version: 1, files: {} };

  const weights = pack(Object.entries(model.params));
  await writeFile(join(tmp, 'weights.bin'), weights.bytes);
  manifest.files['weights.bin'] = { sha256: sha256(weights.bytes), tensors: weights.entries };

  const config: CheckpointConfig = { format: CHECKPOINT_FORMAT, version: 1, model: model.config, lora: model.lora, head: model.hasHead, state };
  if (provenance) config.provenance = provenance;
  if (optimizer) {
    const moments = Object.entries(optimizer.slots).flatMap(([n, s]): [string, tf.Tensor][] => [[`${n}.m`, s.m], [`${n}.v`, s.v]]);
    const opt = pack(moments);
    await writeFile(join(tmp, 'optimizer.bin'), opt.bytes);
    manifest.files['optimizer.bin'] = { sha256: sha256(opt.bytes), tensors: opt.entries };
    config.optimizer = { config: optimizer.config, step: optimizer.step };
  }
  if (extra) {
    const more = pack(Object.entries(extra));
    await writeFile(join(tmp, 'extra.bin'), more.bytes);
    manifest.files['extra.bin'] = { sha256: sha256(more.bytes), tensors: more.entries };
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
  await forEachTensor(dir, manifest, file, (name, t) => out.set(name, t));
  return out;
}

/** Each tensor of a checkpoint file in turn, handed over (the callback owns it). */
async function forEachTensor(dir: string, manifest: Manifest, file: string, take: (name: string, t: tf.Tensor) => void): Promise<void> {
  const info = manifest.files[file];
  const bytes = await readFile(join(dir, file));
  if (sha256(bytes) !== info.sha256) throw new Error(`checkpoint ${join(dir, file)} is corrupt (sha256 mismatch)`);
  for (const e of info.tensors) {
    // Copy into an aligned buffer: Float32Array needs a 4-byte aligned offset.
    const data = new Float32Array(e.byteLength / 4);
    new Uint8Array(data.buffer).set(bytes.subarray(e.offset, e.offset + e.byteLength));
    take(e.name, tf.tensor(data, e.shape, 'float32'));
  }
}

/** Loads a checkpoint folder bit-exactly: weights, LoRA adapters, head, optimizer moments, tokenizer. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  if (!existsSync(join(dir, 'manifest.json')) && existsSync(join(`${dir}.old`, 'manifest.json'))) dir = `${dir}.old`;
  if (!existsSync(join(dir, 'manifest.json'))) throw new Error(`no checkpoint in ${dir} (manifest.json missing)`);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as CheckpointConfig;
  if (manifest.format !== CHECKPOINT_FORMAT || config.format !== CHECKPOINT_FORMAT) throw new Error(`${dir} is not a ${CHECKPOINT_FORMAT} checkpoint`);

  checkMemory(config.model, 'sample');
  const model = createModel(config.model, { seed: 0 });
  if (config.lora) model.addLora(config.lora);
  if (config.head) model.attachHead();
  // One tensor at a time: the heap holds the weights once, plus the tensor being assigned.
  const missing = new Set(Object.keys(model.params));
  await forEachTensor(dir, manifest, 'weights.bin', (name, t) => {
    if (missing.delete(name)) model.params[name].assign(t);
    t.dispose();
  });
  if (missing.size) {
    model.dispose();
    throw new Error(`checkpoint ${dir} lacks tensor ${[...missing][0]}`);
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
