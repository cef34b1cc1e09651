// Model import and export across formats. IMPORTERS is the sniffing table `jielong-ml import`
// walks: the first whose `detect` accepts the path reads it. Every importer gives the same
// thing: a model config, Jielong-named tensors, a tokenizer, and the provenance recorded with the
// checkpoint (source format, architecture, sha256 of each file read, licence text).
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '../checkpoint.ts';
import { createModel, type CausalLM, type ModelConfig } from '../models/index.ts';
import { HfTokenizer } from '../tokenizers/hf.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import { FormatError } from './errors.ts';
import * as gguf from './gguf.ts';
import { ARCHITECTURES, expandRules, mapWeights, type OurTensor, type SourceTensor } from './hf.ts';
import { readHfFolder, readTokenizer, writeHfFolder, type ExportOptions, type ExportResult } from './hf-folder.ts';
import { fileSource } from './source.ts';

export { FormatError } from './errors.ts';

export interface Provenance {
  sourceFormat: string;
  architecture: string;
  source: string;
  files: { name: string; bytes: number; sha256: string }[];
  licence: string | null;
  importedAt: string;
}

export interface ImportedModel {
  config: ModelConfig;
  tokenizer: Tokenizer | null;
  tensors: Record<string, OurTensor>;
  provenance: Provenance;
}

export interface ImportOptions {
  /** A tokenizer.json (or folder holding one) to use instead of, or when the source lacks, its own. */
  tokenizerPath?: string;
}

interface Importer {
  format: string;
  detect(path: string): boolean;
  read(path: string, opts: ImportOptions): Promise<Omit<ImportedModel, 'provenance'> & { architecture: string; files: string[]; licenceDir: string }>;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

const LICENCE_FILES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'LICENCE.txt', 'LICENCE.md'];

async function readGguf(path: string, opts: ImportOptions) {
  const src = await fileSource(path);
  try {
    const header = await gguf.readHeader(src);
    const hfConfig = gguf.ggufHfConfig(header);
    const architecture = (hfConfig.architectures as string[])[0];
    const arch = ARCHITECTURES[architecture];
    const config = arch.fromHf(hfConfig);
    const permuted = gguf.GGUF_ARCHITECTURES[header.metadata['general.architecture'] as string][1];
    const source = new Map<string, SourceTensor>();
    for (const t of header.tensors) {
      const name = gguf.ggufToHfName(t.name);
      if (!name) throw new FormatError(`GGUF tensor "${t.name}" has no Hugging Face counterpart Jielong knows`);
      const heads = name.endsWith('q_proj.weight') || name.endsWith('q_proj.bias') ? config.nHead : name.includes('k_proj.') ? (config as { nKvHead: number }).nKvHead : 0;
      source.set(name, {
        shape: t.shape,
        read: async () => {
          const data = await gguf.readTensor(src, t);
          return permuted && heads ? gguf.unpermuteRows(data, t.shape[0], heads) : data;
        },
      });
    }
    const tensors = await mapWeights(expandRules(arch, config), source, []);
    let tokenizer: Tokenizer | null = null;
    if (opts.tokenizerPath) tokenizer = await readTokenizer(opts.tokenizerPath);
    else {
      const files = gguf.ggufTokenizerFiles(header);
      if (files) tokenizer = new HfTokenizer(files.tokenizer, files.config);
    }
    if (!tokenizer) throw new FormatError(`${path}: its tokenizer (tokenizer.ggml.model ${JSON.stringify(header.metadata['tokenizer.ggml.model'])}) is not one Jielong reads from GGUF; pass --tokenizer with the model's tokenizer.json`);
    return { config, tensors, tokenizer, architecture, files: [path], licenceDir: join(path, '..') };
  } finally {
    await src.close();
  }
}

export const IMPORTERS: Importer[] = [
  {
    format: 'huggingface',
    detect: (p) => isDir(p) && existsSync(join(p, 'config.json')) && (existsSync(join(p, 'model.safetensors')) || existsSync(join(p, 'model.safetensors.index.json'))),
    read: async (dir, opts) => {
      const m = await readHfFolder(dir, opts);
      const names = (await readdir(dir)).filter((f) => f.endsWith('.safetensors') || f.endsWith('.json')).sort();
      return { ...m, files: names.map((f) => join(dir, f)), licenceDir: dir };
    },
  },
  {
    format: 'gguf',
    detect: (p) => !isDir(p) && existsSync(p) && readMagic(p) === 'GGUF',
    read: readGguf,
  },
];

/** The first four bytes of a file (a synchronous read keeps detect() simple and cheap). */
function readMagic(path: string): string {
  const buf = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return buf.toString('latin1');
}

/** Reads a model from a Hugging Face folder or a .gguf file into Jielong tensors. */
export async function importModel(fromPath: string, opts: ImportOptions = {}): Promise<ImportedModel> {
  if (!existsSync(fromPath)) throw new FormatError(`${fromPath}: not found`);
  const importer = IMPORTERS.find((i) => i.detect(fromPath));
  if (!importer) throw new FormatError(`${fromPath}: not a format Jielong imports (${IMPORTERS.map((i) => i.format).join(', ')}: a folder with config.json and model.safetensors, or a .gguf file)`);
  const { architecture, files, licenceDir, ...model } = await importer.read(fromPath, opts);
  if (model.tokenizer && model.tokenizer.vocabSize > model.config.vocabSize) {
    throw new FormatError(`tokenizer has ${model.tokenizer.vocabSize} tokens but the model's vocabulary only ${model.config.vocabSize}`);
  }
  const licenceFile = LICENCE_FILES.map((f) => join(licenceDir, f)).find((f) => existsSync(f));
  const provenance: Provenance = {
    sourceFormat: importer.format,
    architecture,
    source: fromPath,
    files: await Promise.all(files.map(async (f) => ({ name: basename(f), bytes: statSync(f).size, sha256: await sha256File(f) }))),
    licence: licenceFile ? await readFile(licenceFile, 'utf8') : null,
    importedAt: new Date().toISOString(),
  };
  return { ...model, provenance };
}

/** A model built from imported tensors (the caller disposes it). */
export function modelFromImport(imported: Pick<ImportedModel, 'config' | 'tensors'>): CausalLM {
  const model = createModel(imported.config, { seed: 0 });
  for (const [name, v] of Object.entries(model.params)) {
    const t = imported.tensors[name];
    if (!t) throw new FormatError(`imported model lacks ${name}`);
    const value = tf.tensor(t.data, t.shape, 'float32');
    v.assign(value);
    value.dispose();
  }
  return model;
}

/** Imports and writes a Jielong checkpoint folder, with provenance.json (and the licence text) beside it. */
export async function importToCheckpoint(fromPath: string, outDir: string, opts: ImportOptions = {}): Promise<{ model: CausalLM; provenance: Provenance }> {
  const imported = await importModel(fromPath, opts);
  const model = modelFromImport(imported);
  await saveCheckpoint(outDir, { model, tokenizer: imported.tokenizer ?? undefined, state: { importedFrom: imported.provenance.sourceFormat } });
  await writeFile(join(outDir, 'provenance.json'), JSON.stringify(imported.provenance, null, 2));
  return { model, provenance: imported.provenance };
}

/** Writes a model as a Hugging Face folder (see hf-folder.ts). */
export async function exportModel(dir: string, model: CausalLM, tokenizer: Tokenizer | null, opts: ExportOptions = {}): Promise<ExportResult> {
  return writeHfFolder(dir, model, tokenizer, opts);
}
