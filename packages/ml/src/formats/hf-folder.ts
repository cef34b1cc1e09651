// A Hugging Face model folder read into Jielong tensors, and a Jielong model written out as one:
// config.json, model.safetensors (float32), tokenizer.json + tokenizer_config.json,
// generation_config.json; LoRA merged or as a PEFT adapter; a model with the scalar head as
// …ForSequenceClassification (score.weight [1, hidden], num_labels 1).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CausalLM, LlamaConfig, ModelConfig } from '../models/index.ts';
import { HfTokenizer } from '../tokenizers/hf.ts';
import { hfTokenizerFiles } from '../tokenizers/to-hf.ts';
import { loadTokenizer, type Tokenizer } from '../tokenizers/index.ts';
import { FormatError } from './errors.ts';
import { architectureFor, architectureOf, ARCHITECTURES, classifierName, expandRules, mapWeights, unmapWeights, type OurTensor, type SourceTensor } from './hf.ts';
import { openSafetensors, readTensor, writeSafetensors, type NamedTensor } from './safetensors.ts';
import { fileSource, type ByteSource } from './source.ts';

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not valid JSON (${(e as Error).message})`}`);
  }
}

/**
 * A tokenizer from a path: a folder or file holding a Hugging Face tokenizer.json (with
 * tokenizer_config.json and generation_config.json beside it when present), or a Jielong one.
 */
export async function readTokenizer(path: string): Promise<Tokenizer> {
  const dir = path.endsWith('.json') ? join(path, '..') : path;
  const file = path.endsWith('.json') ? path : join(path, 'tokenizer.json');
  const json = await readJson(file);
  if (typeof json.type === 'string' && !('model' in json)) return loadTokenizer(json);
  const config = existsSync(join(dir, 'tokenizer_config.json')) ? await readJson(join(dir, 'tokenizer_config.json')) : {};
  const generation = existsSync(join(dir, 'generation_config.json')) ? await readJson(join(dir, 'generation_config.json')) : {};
  const eos = generation.eos_token_id;
  const stops = (Array.isArray(eos) ? eos : [eos]).filter((x): x is number => typeof x === 'number');
  return new HfTokenizer(json, config, stops);
}

export interface HfFolderModel {
  architecture: string;
  config: ModelConfig;
  tensors: Record<string, OurTensor>;
  tokenizer: Tokenizer | null;
}

/** Reads config.json, the safetensors weights (single or sharded) and the tokenizer of a folder;
 * `onConfig` sees the config first and may refuse it by throwing. */
export async function readHfFolder(dir: string, opts: { tokenizerPath?: string; onConfig?: (config: ModelConfig) => void } = {}): Promise<HfFolderModel> {
  const hfConfig = await readJson(join(dir, 'config.json'));
  const [architecture, arch] = architectureOf(hfConfig);
  const config = arch.fromHf(hfConfig);
  opts.onConfig?.(config); // e.g. a memory check, before any weight is read
  const located = await openSafetensors(dir);
  const sources = new Map<string, ByteSource>();
  const source = new Map<string, SourceTensor>();
  for (const [name, t] of located) {
    source.set(arch.alias ? arch.alias(name) : name, {
      shape: t.shape,
      read: async () => {
        if (!sources.has(t.file)) sources.set(t.file, await fileSource(t.file));
        return readTensor(sources.get(t.file)!, t);
      },
    });
  }
  // A tied model may still carry a copy of the embedding as lm_head.weight.
  const tied = (config as LlamaConfig).tiedEmbeddings ?? true;
  const ignore = tied ? [...arch.ignore, /^lm_head\.weight$/] : arch.ignore;
  try {
    const tensors = await mapWeights(expandRules(arch, config), source, ignore);
    if (arch.scoreHead) {
      const bias = hfConfig.jielong_score_bias;
      tensors['head.b'] = { shape: [1], data: Float32Array.of(typeof bias === 'number' && Number.isFinite(bias) ? bias : 0) };
    }
    const tokPath = opts.tokenizerPath ?? (existsSync(join(dir, 'tokenizer.json')) ? dir : null);
    const tokenizer = tokPath ? await readTokenizer(tokPath) : null;
    return { architecture, config, tensors, tokenizer };
  } finally {
    for (const s of sources.values()) await s.close();
  }
}

// ── export ──────────────────────────────────────────────────────────────────────────────────────

export type LoraExport = 'merge' | 'peft';

export interface ExportOptions {
  /** With LoRA adapters: fold them into the weights (default), or write the base model plus a PEFT adapter in `adapter/`. */
  lora?: LoraExport;
}

export interface ExportResult {
  architecture: string;
  files: string[];
  /** Where the PEFT adapter went, with lora: 'peft'. */
  adapterDir?: string;
}

const PEFT_TARGETS: Record<string, string> = { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj', gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };

/** Writes a folder transformers (and vLLM, for the causal LMs) loads: see the file header. */
export async function writeHfFolder(dir: string, model: CausalLM, tokenizer: Tokenizer | null, opts: ExportOptions = {}): Promise<ExportResult> {
  await mkdir(dir, { recursive: true });
  const config = model.config;
  const causal = architectureFor(config);
  const arch = ARCHITECTURES[causal];
  const lora = model.lora;
  const mode = opts.lora ?? 'merge';
  const read = (name: string): OurTensor => ({ shape: model.shapeOf(name), data: model.weightValues(name) });

  const ours: Record<string, OurTensor> = {};
  for (const name of model.weightNames()) if (!name.includes('.lora_') && !name.startsWith('head.')) ours[name] = read(name);
  if (lora && mode === 'merge') {
    const scale = lora.alpha / lora.rank;
    for (const a of Object.keys(model.params).filter((n) => n.endsWith('.lora_a'))) {
      const base = a.slice(0, -'.lora_a'.length);
      const w = read(`${base}.w`);
      // A new array: a frozen weight's own is shared.
      const merged = tf.tidy(() => tf.matMul(model.params[a], model.params[`${base}.lora_b`]).mul(scale).dataSync() as Float32Array);
      for (let i = 0; i < merged.length; i++) merged[i] += w.data[i];
      ours[`${base}.w`] = { shape: w.shape, data: merged };
    }
  }

  const rules = expandRules(arch, config);
  let tensors: NamedTensor[] = unmapWeights(rules, ours);
  let architecture = causal;
  const hfConfig: Record<string, unknown> = { ...arch.toHf(config) };
  if (model.hasHead) {
    // The scalar head as a one-label classifier. HF's score layer has no bias, so ours is kept in
    // config.json (jielong_score_bias) for re-import; rankings and PPO advantages ignore a constant.
    architecture = classifierName(causal);
    tensors = tensors.filter((t) => t.name !== 'lm_head.weight');
    tensors.push({ name: 'score.weight', shape: [1, config.nEmbd], data: read('head.w').data });
    Object.assign(hfConfig, { num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 }, problem_type: 'regression', jielong_score_bias: read('head.b').data[0] });
  }
  const bos = tokenizer?.bosId;
  const eos = tokenizer?.eotId;
  const fullConfig = {
    architectures: [architecture], model_type: arch.modelType, torch_dtype: 'float32', transformers_version: '4.44.0',
    ...hfConfig, ...(tokenizer ? { bos_token_id: bos, eos_token_id: eos, pad_token_id: eos } : {}),
  };
  const files = ['config.json', 'model.safetensors'];
  await writeFile(join(dir, 'config.json'), JSON.stringify(fullConfig, null, 2));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  if (!model.hasHead) {
    const generation = { _from_model_config: false, ...(tokenizer ? { bos_token_id: bos, eos_token_id: tokenizer.stopIds.length > 1 ? [...tokenizer.stopIds] : eos, pad_token_id: eos } : {}) };
    await writeFile(join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2));
    files.push('generation_config.json');
  }
  const tok = tokenizer && hfTokenizerFiles(tokenizer);
  if (tok) {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tok.json));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 2));
    files.push('tokenizer.json', 'tokenizer_config.json');
  }

  const result: ExportResult = { architecture, files };
  if (lora && mode === 'peft') result.adapterDir = await writePeftAdapter(join(dir, 'adapter'), dir, model, rules);
  return result;
}

/** adapter_config.json + adapter_model.safetensors, named and laid out as PEFT saves them. */
async function writePeftAdapter(dir: string, baseDir: string, model: CausalLM, rules: ReturnType<typeof expandRules>): Promise<string> {
  const lora = model.lora!;
  await mkdir(dir, { recursive: true });
  const gpt = (model.config.family ?? 'gpt') === 'gpt';
  const tensors: NamedTensor[] = [];
  for (const r of rules) {
    if (!r.ours.endsWith('.w')) continue;
    const a = r.ours.replace(/\.w$/, '.lora_a');
    if (!(a in model.params)) continue;
    const b = r.ours.replace(/\.w$/, '.lora_b');
    const prefix = `base_model.model.${r.hf.replace(/\.weight$/, '')}`;
    const [fanIn, rank] = model.params[a].shape as [number, number];
    const fanOut = model.params[b].shape[1] as number;
    // PEFT's lora_A is an nn.Linear(in, r): weight [r, in]; lora_B: [out, r]. Ours are [in, r] and [r, out].
    const at = tf.tidy(() => model.params[a].transpose().dataSync() as Float32Array);
    const bt = tf.tidy(() => model.params[b].transpose().dataSync() as Float32Array);
    tensors.push({ name: `${prefix}.lora_A.weight`, shape: [rank, fanIn], data: at }, { name: `${prefix}.lora_B.weight`, shape: [fanOut, rank], data: bt });
  }
  const targets = gpt ? (lora.targets ?? ['c_attn', 'c_proj', 'c_fc']) : (lora.targets ?? ['q', 'v']).map((t) => PEFT_TARGETS[t]);
  const adapterConfig = {
    peft_type: 'LORA', task_type: model.hasHead ? 'SEQ_CLS' : 'CAUSAL_LM', base_model_name_or_path: baseDir, r: lora.rank, lora_alpha: lora.alpha,
    lora_dropout: 0, target_modules: targets, bias: 'none', fan_in_fan_out: gpt, inference_mode: true, modules_to_save: null, init_lora_weights: true,
    use_rslora: false, use_dora: false, layers_to_transform: null, layers_pattern: null, rank_pattern: {}, alpha_pattern: {}, revision: null,
  };
  await writeFile(join(dir, 'adapter_config.json'), JSON.stringify(adapterConfig, null, 2));
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  return dir;
}
