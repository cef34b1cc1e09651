// Importing foreign model files: a table of formats, each with a sniffing test and a reader into
// our parameter names, and `modelFromTensors`, which fills a fresh model and checks, as nanoGPT's
// from_pretrained does, that every parameter is given once with its shape and nothing is left over.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createModel, type CausalLM, type ModelConfig } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import { FormatError, readLlama2c, readLlama2cHeader, readLlama2cTokenizer } from './llama2c.ts';

export * from './llama2c.ts';

/** Where an imported model came from, stored in its checkpoint's config.json. */
export interface Provenance {
  sourceFormat: string;
  architecture: string;
  files: { role: 'model' | 'tokenizer'; name: string; bytes: number; sha256: string }[];
}

export interface ImportedModel {
  config: ModelConfig;
  /** Every parameter by our name, in our layout. */
  tensors: Record<string, Float32Array>;
  tokenizer: Tokenizer;
  provenance: Provenance;
}

export interface ImportSource {
  /** The model file or folder. */
  from: string;
  /** A separate tokenizer file, for formats that keep it apart. */
  tokenizer?: string;
}

interface ModelFormat {
  name: string;
  /** True when the path looks like this format (cheap: a stat and the first bytes). */
  detect(path: string, head: Uint8Array, isFile: boolean): boolean;
  read(source: ImportSource): Promise<ImportedModel>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fileEntry = (role: 'model' | 'tokenizer', path: string, bytes: Uint8Array) => ({ role, name: basename(path), bytes: bytes.byteLength, sha256: sha256(bytes) });

const llama2c: ModelFormat = {
  name: 'llama2c',
  detect(_path, head, isFile) {
    if (!isFile || head.byteLength < 28) return false;
    try {
      readLlama2cHeader(head);
      return true;
    } catch (e) {
      // A header that parses but disagrees with the 28 bytes we sniffed is still this format.
      return e instanceof FormatError && e.message.includes('implies');
    }
  },
  async read({ from, tokenizer }) {
    if (!tokenizer) throw new FormatError('llama2.c models carry no vocabulary: give its tokenizer.bin with --tokenizer');
    const bytes = await readFile(from);
    const { config, tensors } = readLlama2c(bytes);
    const tokBytes = await readFile(tokenizer);
    return {
      config,
      tensors,
      tokenizer: readLlama2cTokenizer(tokBytes, config.vocabSize),
      provenance: { sourceFormat: 'llama2c', architecture: 'llama', files: [fileEntry('model', from, bytes), fileEntry('tokenizer', tokenizer, tokBytes)] },
    };
  },
};

/** Tried in order; the first whose detect() says yes reads the source. llama2.c files have no
 * magic number, only a plausible header, so that entry stays last. */
const FORMATS: ModelFormat[] = [llama2c];

/** Reads a foreign model (format sniffed from the file) into our config, tensors and tokenizer. */
export async function importModel(source: ImportSource): Promise<ImportedModel> {
  const info = await stat(source.from).catch(() => null);
  if (!info) throw new FormatError(`no model at ${source.from}`);
  let head = new Uint8Array(0);
  if (info.isFile()) {
    const file = await open(source.from);
    try {
      const { buffer, bytesRead } = await file.read(new Uint8Array(256), 0, 256, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }
  const format = FORMATS.find((f) => f.detect(source.from, head, info.isFile()));
  if (!format) throw new FormatError(`${source.from} is in no format we read (known: ${FORMATS.map((f) => f.name).join(', ')})`);
  return format.read(source);
}

/** A model of `config` holding exactly `tensors` (each parameter once, with its shape). */
export function modelFromTensors(config: ModelConfig, tensors: Record<string, Float32Array>): CausalLM {
  const model = createModel(config, { seed: 0 });
  try {
    const left = new Set(Object.keys(tensors));
    for (const [name, v] of Object.entries(model.params)) {
      const data = tensors[name];
      if (!data) throw new FormatError(`the imported weights lack ${name}`);
      if (data.length !== v.size) throw new FormatError(`imported ${name} has ${data.length} values, the model expects [${v.shape.join(', ')}] = ${v.size}`);
      v.assign(tf.tensor(data, v.shape, 'float32'));
      left.delete(name);
    }
    if (left.size) throw new FormatError(`imported tensors the model has no place for: ${[...left].join(', ')}`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
