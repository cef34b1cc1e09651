// Importing foreign model files: a table of formats, each with a sniffing test and a reader into
// our parameter names, and `modelFromTensors`, which fills a fresh model and checks, as nanoGPT's
// from_pretrained does, that every parameter is given once with its shape and nothing is left over.
// `exportModel` writes the other way, as a Hugging Face folder.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { nativeActive } from '../kernels/native.ts';
import { checkMemory } from '../memory.ts';
import { createModel, type CausalLM, type LlamaConfig, type ModelConfig } from '../models/index.ts';
import { HfTokenizer } from '../tokenizers/hf.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import { FormatError } from './errors.ts';
import * as gguf from './gguf.ts';
import { ARCHITECTURES, expandRules, mapWeights, type SourceTensor } from './hf.ts';
import { readHfFolder, readTokenizer, writeHfFolder, type ExportOptions, type ExportResult } from './hf-folder.ts';
import { readLlama2c, readLlama2cHeader, readLlama2cTokenizer } from './llama2c.ts';
import { fileSource } from './source.ts';

export * from './llama2c.ts';
export { FormatError } from './errors.ts';
export type { ExportOptions, ExportResult, LoraExport } from './hf-folder.ts';
export { openSafetensors, readHeader as readSafetensorsHeader, readTensor as readSafetensorsTensor, writeSafetensors } from './safetensors.ts';
export { readHeader as readGgufHeader, readTensor as readGgufTensor } from './gguf.ts';

/** Where an imported model came from, stored in its checkpoint's config.json. */
export interface Provenance {
  sourceFormat: string;
  architecture: string;
  files: { role: 'model' | 'tokenizer' | 'config'; name: string; bytes: number; sha256: string }[];
  /** The text of the LICENSE file beside the model, when there is one. */
  licence?: string;
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
  /** A separate tokenizer file, for formats that keep it apart (or to replace the model's own). */
  tokenizer?: string;
}

interface ModelFormat {
  name: string;
  /** True when the path looks like this format (cheap: a stat and the first bytes). */
  detect(path: string, head: Uint8Array, isFile: boolean): boolean;
  read(source: ImportSource): Promise<ImportedModel>;
}

/** Refuses, before its weights are read, a model the WebAssembly heap cannot hold and sample. */
const holdable = (config: ModelConfig) => void checkMemory(config, 'sample', { frozen: nativeActive() });

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fileEntry = (role: 'model' | 'tokenizer', path: string, bytes: Uint8Array) => ({ role, name: basename(path), bytes: bytes.byteLength, sha256: sha256(bytes) });

/** Hash of a file read as a stream: weight files may be many GB. */
async function streamedEntry(role: 'model' | 'tokenizer' | 'config', path: string) {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { role, name: basename(path), bytes, sha256: hash.digest('hex') };
}

const LICENCE_FILES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'LICENCE.txt', 'LICENCE.md'];

async function licenceIn(dir: string): Promise<{ licence?: string }> {
  const file = LICENCE_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  return file ? { licence: await readFile(file, 'utf8') } : {};
}

const plain = (tensors: Record<string, { data: Float32Array }>) => Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data]));

const huggingface: ModelFormat = {
  name: 'huggingface',
  detect: (path, _head, isFile) => !isFile && existsSync(join(path, 'config.json')) && (existsSync(join(path, 'model.safetensors')) || existsSync(join(path, 'model.safetensors.index.json'))),
  async read({ from, tokenizer: tokenizerPath }) {
    const m = await readHfFolder(from, { tokenizerPath, onConfig: holdable });
    if (!m.tokenizer) throw new FormatError(`${from} has no tokenizer.json: give one with --tokenizer`);
    const names = (await readdir(from)).sort();
    const files = [
      ...names.filter((f) => f.endsWith('.safetensors')).map((f) => streamedEntry('model', join(from, f))),
      ...names.filter((f) => /^(config|generation_config|model\.safetensors\.index)\.json$/.test(f)).map((f) => streamedEntry('config', join(from, f))),
      ...(tokenizerPath ? [tokenizerFile(tokenizerPath)] : names.filter((f) => /^tokenizer(_config)?\.json$/.test(f)).map((f) => join(from, f))).map((f) => streamedEntry('tokenizer', f)),
    ];
    return {
      config: m.config,
      tensors: plain(m.tensors),
      tokenizer: m.tokenizer,
      provenance: { sourceFormat: 'huggingface', architecture: m.architecture, files: await Promise.all(files), ...(await licenceIn(from)) },
    };
  },
};

const tokenizerFile = (path: string) => (path.endsWith('.json') ? path : join(path, 'tokenizer.json'));

const ggufFormat: ModelFormat = {
  name: 'gguf',
  detect: (_path, head, isFile) => isFile && head.byteLength >= 4 && new TextDecoder().decode(head.subarray(0, 4)) === 'GGUF',
  async read({ from, tokenizer: tokenizerPath }) {
    const src = await fileSource(from);
    try {
      const header = await gguf.readHeader(src);
      const hfConfig = gguf.ggufHfConfig(header);
      const architecture = (hfConfig.architectures as string[])[0];
      const arch = ARCHITECTURES[architecture];
      const config = arch.fromHf(hfConfig) as LlamaConfig;
      holdable(config);
      const permuted = gguf.GGUF_ARCHITECTURES[header.metadata['general.architecture'] as string][1];
      const source = new Map<string, SourceTensor>();
      for (const t of header.tensors) {
        const name = gguf.ggufToHfName(t.name);
        if (!name) throw new FormatError(`GGUF tensor "${t.name}" has no Hugging Face counterpart Jielong knows`);
        const heads = name.includes('.q_proj.') ? config.nHead : name.includes('.k_proj.') ? config.nKvHead : 0;
        source.set(name, {
          shape: t.shape,
          read: async () => {
            const data = await gguf.readTensor(src, t);
            return permuted && heads ? gguf.unpermuteRows(data, t.shape[0], heads) : data;
          },
        });
      }
      const tensors = await mapWeights(expandRules(arch, config), source);
      const embedded = gguf.ggufTokenizerFiles(header);
      const tokenizer = tokenizerPath ? await readTokenizer(tokenizerPath) : embedded && new HfTokenizer(embedded.tokenizer, embedded.config);
      if (!tokenizer) {
        throw new FormatError(`${from}: its tokenizer (tokenizer.ggml.model ${JSON.stringify(header.metadata['tokenizer.ggml.model'])}) is not one Jielong reads from GGUF; give the model's tokenizer.json with --tokenizer`);
      }
      const files = [streamedEntry('model', from), ...(tokenizerPath ? [streamedEntry('tokenizer', tokenizerFile(tokenizerPath))] : [])];
      return {
        config,
        tensors: plain(tensors),
        tokenizer,
        provenance: { sourceFormat: 'gguf', architecture, files: await Promise.all(files), ...(await licenceIn(dirname(from))) },
      };
    } finally {
      await src.close();
    }
  },
};

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
const FORMATS: ModelFormat[] = [huggingface, ggufFormat, llama2c];

/**
 * Reads a foreign model (format sniffed from the path: a Hugging Face folder, a .gguf file, a
 * llama2.c .bin) into our config, tensors and tokenizer. Also callable as
 * importModel(path, { tokenizerPath }).
 */
export async function importModel(source: ImportSource | string, opts: { tokenizerPath?: string } = {}): Promise<ImportedModel> {
  if (typeof source === 'string') source = { from: source, tokenizer: opts.tokenizerPath };
  const info = await stat(source.from).catch(() => null);
  if (!info) throw new FormatError(`no model at ${source.from}`);
  if (source.tokenizer && !existsSync(source.tokenizer)) throw new FormatError(`no tokenizer at ${source.tokenizer}`);
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
  const imported = await format.read(source);
  if (imported.tokenizer.vocabSize > imported.config.vocabSize) {
    throw new FormatError(`the tokenizer has ${imported.tokenizer.vocabSize} tokens but the model's vocabulary only ${imported.config.vocabSize}`);
  }
  return imported;
}

/** A model of `config` holding exactly `tensors` (each parameter once, with its shape). On the native
 * kernels its 2-D weights stay in these arrays, outside the wasm heap (frozen: an import only writes
 * them out); `thaw()` the model to train it in full. */
export function modelFromTensors(config: ModelConfig, tensors: Record<string, Float32Array>): CausalLM {
  holdable(config);
  let model: CausalLM;
  try {
    model = createModel(config, { seed: 0, values: tensors, freeze: true });
  } catch (e) {
    throw e instanceof Error && !(e instanceof FormatError) ? new FormatError(`imported ${e.message}`) : e;
  }
  // A reward model (…ForSequenceClassification) brings its scalar head, made after the base: filled here.
  if ('head.w' in tensors) {
    model.attachHead();
    for (const name of ['head.w', 'head.b']) {
      const v = model.params[name];
      if (tensors[name]?.length !== v.size) {
        model.dispose();
        throw new FormatError(`imported ${name} has ${tensors[name]?.length ?? 0} values, the model expects [${v.shape.join(', ')}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(tensors[name], v.shape, 'float32')));
    }
  }
  const names = model.weightNames();
  const lacking = names.find((name) => !tensors[name]);
  const left = Object.keys(tensors).filter((name) => !names.includes(name));
  if (lacking || left.length) {
    model.dispose();
    throw new FormatError(lacking ? `the imported weights lack ${lacking}` : `imported tensors the model has no place for: ${left.join(', ')}`);
  }
  return model;
}

/**
 * Writes `model` as a Hugging Face folder transformers loads (config.json, model.safetensors,
 * tokenizer files, generation_config.json); LoRA merged or as a PEFT adapter in `adapter/`; a model
 * with the scalar head as …ForSequenceClassification.
 */
export async function exportModel(dir: string, model: CausalLM, tokenizer: Tokenizer | null, opts: ExportOptions = {}): Promise<ExportResult> {
  return writeHfFolder(dir, model, tokenizer, opts);
}
