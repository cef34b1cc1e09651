// Hugging Face model folders: config.json ↔ Jielong's model config, and weight names as data.
// Each architecture has a table of rules { hf, ours, op, shape } read forwards to import and
// backwards to export; `{i}` stands for the layer. Layout lives in `op`: HF GPT-2's Conv1D
// weights are [in, out] like ours (copy), HF Linear weights are [out, in] (transpose). HF q/k rows
// are in rotate-half order within each head, which is what models/llama.ts uses, so no permutation.
// mapWeights checks, as nanoGPT's from_pretrained does, that every parameter is filled exactly
// once with the right shape and that leftovers are on the architecture's ignore list.
import { llamaConfig, type GPTConfig, type LlamaConfig, type ModelConfig, type RopeScaling } from '../models/index.ts';
import { FormatError } from './errors.ts';

export type WeightOp = 'copy' | 'transpose';

export interface WeightRule {
  hf: string;
  ours: string;
  op: WeightOp;
  /** Our parameter's shape for a config. */
  shape: (c: never) => number[];
  /** Present only for configs where this holds (biases, untied heads). */
  when?: (c: never) => boolean;
}

export interface Architecture {
  family: 'gpt' | 'llama';
  modelType: string;
  /** config.json → our config; refuses what our model cannot represent, naming the field. */
  fromHf(hf: Record<string, unknown>): ModelConfig;
  /** Our config → config.json keys (architectures and model_type added by the exporter). */
  toHf(c: ModelConfig): Record<string, unknown>;
  weights: WeightRule[];
  /** HF tensors that are buffers or duplicates, not parameters. */
  ignore: RegExp[];
  /** Names some checkpoints use for the same tensors (GPT-2 saved from GPT2Model lacks `transformer.`). */
  alias?: (hfName: string) => string;
  /** …ForSequenceClassification: the backbone with a one-label score in place of the LM head. */
  scoreHead?: boolean;
}

type G = GPTConfig;
type L = LlamaConfig;

const gptLayer: WeightRule[] = [
  ['ln_1.weight', 'ln_1.g', (c: G) => [c.nEmbd]],
  ['ln_1.bias', 'ln_1.b', (c: G) => [c.nEmbd]],
  ['attn.c_attn.weight', 'attn.c_attn.w', (c: G) => [c.nEmbd, 3 * c.nEmbd]],
  ['attn.c_attn.bias', 'attn.c_attn.b', (c: G) => [3 * c.nEmbd]],
  ['attn.c_proj.weight', 'attn.c_proj.w', (c: G) => [c.nEmbd, c.nEmbd]],
  ['attn.c_proj.bias', 'attn.c_proj.b', (c: G) => [c.nEmbd]],
  ['ln_2.weight', 'ln_2.g', (c: G) => [c.nEmbd]],
  ['ln_2.bias', 'ln_2.b', (c: G) => [c.nEmbd]],
  ['mlp.c_fc.weight', 'mlp.c_fc.w', (c: G) => [c.nEmbd, 4 * c.nEmbd]],
  ['mlp.c_fc.bias', 'mlp.c_fc.b', (c: G) => [4 * c.nEmbd]],
  ['mlp.c_proj.weight', 'mlp.c_proj.w', (c: G) => [4 * c.nEmbd, c.nEmbd]],
  ['mlp.c_proj.bias', 'mlp.c_proj.b', (c: G) => [c.nEmbd]],
].map(([hf, ours, shape]) => ({ hf: `transformer.h.{i}.${hf as string}`, ours: `h.{i}.${ours as string}`, op: 'copy' as const, shape: shape as WeightRule['shape'] }));

const GPT2_WEIGHTS: WeightRule[] = [
  { hf: 'transformer.wte.weight', ours: 'wte', op: 'copy', shape: (c: G) => [c.vocabSize, c.nEmbd] },
  { hf: 'transformer.wpe.weight', ours: 'wpe', op: 'copy', shape: (c: G) => [c.blockSize, c.nEmbd] },
  ...gptLayer,
  { hf: 'transformer.ln_f.weight', ours: 'ln_f.g', op: 'copy', shape: (c: G) => [c.nEmbd] },
  { hf: 'transformer.ln_f.bias', ours: 'ln_f.b', op: 'copy', shape: (c: G) => [c.nEmbd] },
];

const kvWidth = (c: L) => (c.nEmbd / c.nHead) * c.nKvHead;
const bias = (c: L) => c.attentionBias;

const LLAMA_WEIGHTS: WeightRule[] = [
  { hf: 'model.embed_tokens.weight', ours: 'wte', op: 'copy', shape: (c: L) => [c.vocabSize, c.nEmbd] },
  { hf: 'model.layers.{i}.input_layernorm.weight', ours: 'h.{i}.attn_norm.g', op: 'copy', shape: (c: L) => [c.nEmbd] },
  { hf: 'model.layers.{i}.self_attn.q_proj.weight', ours: 'h.{i}.attn.q.w', op: 'transpose', shape: (c: L) => [c.nEmbd, c.nEmbd] },
  { hf: 'model.layers.{i}.self_attn.k_proj.weight', ours: 'h.{i}.attn.k.w', op: 'transpose', shape: (c: L) => [c.nEmbd, kvWidth(c)] },
  { hf: 'model.layers.{i}.self_attn.v_proj.weight', ours: 'h.{i}.attn.v.w', op: 'transpose', shape: (c: L) => [c.nEmbd, kvWidth(c)] },
  { hf: 'model.layers.{i}.self_attn.q_proj.bias', ours: 'h.{i}.attn.q.b', op: 'copy', shape: (c: L) => [c.nEmbd], when: bias },
  { hf: 'model.layers.{i}.self_attn.k_proj.bias', ours: 'h.{i}.attn.k.b', op: 'copy', shape: (c: L) => [kvWidth(c)], when: bias },
  { hf: 'model.layers.{i}.self_attn.v_proj.bias', ours: 'h.{i}.attn.v.b', op: 'copy', shape: (c: L) => [kvWidth(c)], when: bias },
  { hf: 'model.layers.{i}.self_attn.o_proj.weight', ours: 'h.{i}.attn.o.w', op: 'transpose', shape: (c: L) => [c.nEmbd, c.nEmbd] },
  { hf: 'model.layers.{i}.post_attention_layernorm.weight', ours: 'h.{i}.mlp_norm.g', op: 'copy', shape: (c: L) => [c.nEmbd] },
  { hf: 'model.layers.{i}.mlp.gate_proj.weight', ours: 'h.{i}.mlp.gate.w', op: 'transpose', shape: (c: L) => [c.nEmbd, c.hiddenSize] },
  { hf: 'model.layers.{i}.mlp.up_proj.weight', ours: 'h.{i}.mlp.up.w', op: 'transpose', shape: (c: L) => [c.nEmbd, c.hiddenSize] },
  { hf: 'model.layers.{i}.mlp.down_proj.weight', ours: 'h.{i}.mlp.down.w', op: 'transpose', shape: (c: L) => [c.hiddenSize, c.nEmbd] },
  { hf: 'model.norm.weight', ours: 'norm_f.g', op: 'copy', shape: (c: L) => [c.nEmbd] },
  { hf: 'lm_head.weight', ours: 'lm_head.w', op: 'transpose', shape: (c: L) => [c.nEmbd, c.vocabSize], when: (c: L) => !c.tiedEmbeddings },
];

// ── config.json ─────────────────────────────────────────────────────────────────────────────────
function field(hf: Record<string, unknown>, key: string, fallback?: number): number {
  const v = hf[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FormatError(`config.json: ${key} must be a number, got ${JSON.stringify(hf[key])}`);
  return v;
}

function refuseUnless(ok: boolean, message: string): void {
  if (!ok) throw new FormatError(`config.json: ${message}`);
}

function gpt2FromHf(hf: Record<string, unknown>): GPTConfig {
  const nEmbd = field(hf, 'n_embd');
  const act = hf.activation_function ?? 'gelu_new';
  refuseUnless(act === 'gelu_new' || act === 'gelu_pytorch_tanh', `activation_function "${String(act)}" is not supported (gelu_new)`);
  refuseUnless(hf.n_inner == null || hf.n_inner === 4 * nEmbd, `n_inner ${String(hf.n_inner)} is not supported (4 × n_embd)`);
  // gpt.ts's LayerNorm has GPT-2's fixed epsilon.
  refuseUnless(Math.abs(field(hf, 'layer_norm_epsilon', 1e-5) - 1e-5) < 1e-9, `layer_norm_epsilon ${String(hf.layer_norm_epsilon)} is not supported (1e-5)`);
  refuseUnless(hf.scale_attn_by_inverse_layer_idx !== true && hf.reorder_and_upcast_attn !== true, 'scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported');
  return { family: 'gpt', vocabSize: field(hf, 'vocab_size'), blockSize: field(hf, 'n_positions'), nLayer: field(hf, 'n_layer'), nHead: field(hf, 'n_head'), nEmbd, dropout: 0 };
}

function gpt2ToHf(c: ModelConfig): Record<string, unknown> {
  const g = c as GPTConfig;
  return {
    vocab_size: g.vocabSize, n_positions: g.blockSize, n_ctx: g.blockSize, n_embd: g.nEmbd, n_layer: g.nLayer, n_head: g.nHead, n_inner: null,
    activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, resid_pdrop: g.dropout, embd_pdrop: g.dropout, attn_pdrop: g.dropout,
    initializer_range: 0.02, scale_attn_weights: true, use_cache: true, tie_word_embeddings: true,
  };
}

function ropeScalingFromHf(s: unknown): RopeScaling | null {
  if (s == null) return null;
  const r = s as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: field(r, 'factor') };
  if (type === 'llama3') {
    return {
      type: 'llama3', factor: field(r, 'factor'), lowFreqFactor: field(r, 'low_freq_factor'), highFreqFactor: field(r, 'high_freq_factor'),
      originalContext: field(r, 'original_max_position_embeddings'),
    };
  }
  throw new FormatError(`config.json: rope_scaling type "${String(type)}" is not supported (linear, llama3)`);
}

function ropeScalingToHf(s: RopeScaling | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  if (s.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  return { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalContext };
}

function llamaFromHf(hf: Record<string, unknown>, qwen2: boolean): LlamaConfig {
  const nEmbd = field(hf, 'hidden_size');
  const nHead = field(hf, 'num_attention_heads');
  refuseUnless((hf.hidden_act ?? 'silu') === 'silu', `hidden_act "${String(hf.hidden_act)}" is not supported (silu)`);
  refuseUnless(hf.head_dim == null || hf.head_dim === nEmbd / nHead, `head_dim ${String(hf.head_dim)} ≠ hidden_size / num_attention_heads is not supported`);
  refuseUnless(hf.mlp_bias !== true, 'mlp_bias is not supported');
  // Llama's attention_bias puts a bias on o_proj too, which models/llama.ts does not have; Qwen2's is q/k/v only.
  refuseUnless(qwen2 || hf.attention_bias !== true, 'attention_bias (with an o_proj bias) is not supported for LlamaForCausalLM');
  if (qwen2) refuseUnless(hf.use_sliding_window !== true, 'use_sliding_window is not supported');
  try {
    return llamaConfig({
      vocabSize: field(hf, 'vocab_size'), blockSize: field(hf, 'max_position_embeddings'), nLayer: field(hf, 'num_hidden_layers'), nHead,
      nKvHead: field(hf, 'num_key_value_heads', nHead), nEmbd, hiddenSize: field(hf, 'intermediate_size'),
      ropeTheta: field(hf, 'rope_theta', 10000), ropeScaling: ropeScalingFromHf(hf.rope_scaling), normEps: field(hf, 'rms_norm_eps', 1e-6),
      tiedEmbeddings: hf.tie_word_embeddings === undefined ? qwen2 : hf.tie_word_embeddings === true, attentionBias: qwen2, dropout: 0,
    });
  } catch (e) {
    throw new FormatError(`config.json: ${(e as Error).message}`);
  }
}

function llamaToHf(c: ModelConfig, qwen2: boolean): Record<string, unknown> {
  const l = c as LlamaConfig;
  return {
    vocab_size: l.vocabSize, hidden_size: l.nEmbd, intermediate_size: l.hiddenSize, num_hidden_layers: l.nLayer, num_attention_heads: l.nHead,
    num_key_value_heads: l.nKvHead, head_dim: l.nEmbd / l.nHead, hidden_act: 'silu', max_position_embeddings: l.blockSize, rms_norm_eps: l.normEps,
    rope_theta: l.ropeTheta, rope_scaling: ropeScalingToHf(l.ropeScaling), tie_word_embeddings: l.tiedEmbeddings, initializer_range: 0.02, use_cache: true,
    attention_dropout: 0, ...(qwen2 ? { use_sliding_window: false, sliding_window: null, max_window_layers: l.nLayer } : { attention_bias: false, mlp_bias: false }),
  };
}

// ── The architectures ───────────────────────────────────────────────────────────────────────────
const INV_FREQ = /\.rotary_emb\.inv_freq$/;

const CAUSAL_LMS: Readonly<Record<string, Architecture>> = {
  GPT2LMHeadModel: {
    family: 'gpt', modelType: 'gpt2', fromHf: gpt2FromHf, toHf: gpt2ToHf, weights: GPT2_WEIGHTS,
    // attn.bias / attn.masked_bias are the causal-mask buffers older checkpoints saved; lm_head is wte (tied).
    ignore: [/\.attn\.(masked_)?bias$/, /^lm_head\.weight$/],
    alias: (name) => (name.startsWith('transformer.') || name.startsWith('lm_head.') ? name : `transformer.${name}`),
  },
  LlamaForCausalLM: { family: 'llama', modelType: 'llama', fromHf: (hf) => llamaFromHf(hf, false), toHf: (c) => llamaToHf(c, false), weights: LLAMA_WEIGHTS, ignore: [INV_FREQ] },
  Qwen2ForCausalLM: { family: 'llama', modelType: 'qwen2', fromHf: (hf) => llamaFromHf(hf, true), toHf: (c) => llamaToHf(c, true), weights: LLAMA_WEIGHTS, ignore: [INV_FREQ] },
};

// A reward model as transformers (and TRL's reward trainer) saves it: the causal LM's backbone, no LM
// head, and score.weight [1, hidden] without a bias. Ours keeps its bias in config.json's
// jielong_score_bias (see hf-folder.ts); a classifier trained elsewhere has none, so 0. Our models
// need an LM head, so a classifier is read as tied: its head is never used to score.
const SCORE: WeightRule = { hf: 'score.weight', ours: 'head.w', op: 'transpose', shape: (c: ModelConfig) => [c.nEmbd, 1] };

function classifier(causal: Architecture): Architecture {
  return {
    ...causal,
    scoreHead: true,
    fromHf(hf) {
      const labels = hf.num_labels ?? (hf.id2label && typeof hf.id2label === 'object' ? Object.keys(hf.id2label).length : 1);
      refuseUnless(labels === 1, `num_labels ${JSON.stringify(labels)} is not supported: a reward model has one label`);
      const config = causal.fromHf(hf);
      return config.family === 'llama' ? { ...config, tiedEmbeddings: true } : config;
    },
    weights: [...causal.weights.filter((r) => r.ours !== 'lm_head.w'), SCORE],
    alias: causal.alias && ((name) => (name.startsWith('score.') ? name : causal.alias!(name))),
    ignore: [...causal.ignore, /^lm_head\.weight$/],
  };
}

/** The causal LM's name → its classifier's: GPT2LMHeadModel → GPT2ForSequenceClassification. */
export const classifierName = (causal: string) => causal.replace(/LMHeadModel$|ForCausalLM$/, 'ForSequenceClassification');

export const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  ...CAUSAL_LMS,
  ...Object.fromEntries(Object.entries(CAUSAL_LMS).map(([name, arch]) => [classifierName(name), classifier(arch)])),
};

/** The causal-LM architecture of a family for export: Llama-family models that carry q/k/v biases are Qwen2. */
export function architectureFor(config: ModelConfig): string {
  if ((config.family ?? 'gpt') === 'gpt') return 'GPT2LMHeadModel';
  return (config as LlamaConfig).attentionBias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM';
}

/** The architecture config.json names; unsupported ones are refused with the list of supported ones. */
export function architectureOf(hf: Record<string, unknown>): [string, Architecture] {
  const names = Array.isArray(hf.architectures) ? (hf.architectures as unknown[]) : [];
  const name = names.find((n): n is string => typeof n === 'string' && Object.hasOwn(ARCHITECTURES, n));
  if (!name) {
    const said = names.length ? names.join(', ') : `model_type ${JSON.stringify(hf.model_type)} without architectures`;
    throw new FormatError(`config.json: architecture ${said} is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  }
  return [name, ARCHITECTURES[name]];
}

export interface ExpandedRule {
  hf: string;
  ours: string;
  op: WeightOp;
  shape: number[];
}

/** The rules of an architecture for one config: layers expanded, conditional rules filtered. */
export function expandRules(arch: Architecture, config: ModelConfig): ExpandedRule[] {
  const out: ExpandedRule[] = [];
  for (const r of arch.weights) {
    if (r.when && !(r.when as (c: ModelConfig) => boolean)(config)) continue;
    const shape = (r.shape as (c: ModelConfig) => number[])(config);
    const layers = r.hf.includes('{i}') ? config.nLayer : 1;
    for (let i = 0; i < layers; i++) out.push({ hf: r.hf.replace('{i}', String(i)), ours: r.ours.replace('{i}', String(i)), op: r.op, shape });
  }
  return out;
}

export interface SourceTensor {
  shape: number[];
  read(): Promise<Float32Array>;
}

export interface OurTensor {
  shape: number[];
  data: Float32Array;
}

/** [r, c] row-major → [c, r]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Fills every parameter of the rules from the source tensors. All names and shapes are checked
 * before any data is read: a missing tensor, a mis-shaped one, or a leftover that is not on the
 * ignore list is a FormatError naming it.
 */
export async function mapWeights(rules: ExpandedRule[], source: Map<string, SourceTensor>, ignore: RegExp[] = []): Promise<Record<string, OurTensor>> {
  const used = new Set<string>();
  const filled = new Set<string>();
  const problems: string[] = [];
  for (const r of rules) {
    if (filled.has(r.ours)) throw new Error(`weight table fills ${r.ours} twice`);
    filled.add(r.ours);
    const t = source.get(r.hf);
    if (!t) {
      problems.push(`missing tensor ${r.hf} (for ${r.ours})`);
      continue;
    }
    used.add(r.hf);
    const want = r.op === 'transpose' ? [r.shape[1], r.shape[0]] : r.shape;
    if (!sameShape(t.shape, want)) problems.push(`tensor ${r.hf} has shape [${t.shape}], expected [${want}]`);
  }
  const leftovers = [...source.keys()].filter((n) => !used.has(n) && !ignore.some((re) => re.test(n)));
  if (leftovers.length) problems.push(`unexpected tensors ${leftovers.slice(0, 8).join(', ')}${leftovers.length > 8 ? ` (+${leftovers.length - 8} more)` : ''}`);
  if (problems.length) throw new FormatError(problems.join('; '));

  const out: Record<string, OurTensor> = {};
  for (const r of rules) {
    const t = source.get(r.hf)!;
    const data = await t.read();
    out[r.ours] = { shape: r.shape, data: r.op === 'transpose' ? transpose2d(data, t.shape[0], t.shape[1]) : data };
  }
  return out;
}

/** Our tensors → HF names and layouts, for export (the table read backwards). */
export function unmapWeights(rules: ExpandedRule[], ours: Record<string, OurTensor>): { name: string; shape: number[]; data: Float32Array }[] {
  return rules.map((r) => {
    const t = ours[r.ours];
    if (!t) throw new FormatError(`model lacks parameter ${r.ours} (for ${r.hf})`);
    if (!sameShape(t.shape, r.shape)) throw new FormatError(`parameter ${r.ours} has shape [${t.shape}], expected [${r.shape}]`);
    return r.op === 'transpose'
      ? { name: r.hf, shape: [r.shape[1], r.shape[0]], data: transpose2d(t.data, r.shape[0], r.shape[1]) }
      : { name: r.hf, shape: r.shape, data: t.data };
  });
}
