// GGUF (llama.cpp's format, version 2 and 3), read as gguf-py's GGUFReader does: magic "GGUF",
// version, tensor and key/value counts, the typed key/value metadata, the tensor table (name,
// dims with ne[0] fastest, ggml type, offset), then the data section at the next multiple of
// `general.alignment` (32 when absent). Byte sizes come from one table (GGML_QUANT_SIZES);
// duplicate names, unknown types and tensors running past the file are refused. Tensors are read
// by byte range: F32, F16 and BF16 widened, Q8_0 dequantised; other quantisations are refused
// naming the tensor and type.
import { bf16ToF32, f16ToF32, f32, f64ToF32, halfToFloat } from './dtypes.ts';
import { FormatError } from './errors.ts';
import { toSource, type ByteSource } from './source.ts';
import { llama2cToTokenizerJson } from '../tokenizers/to-hf.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** ggml type id → [name, elements per block, bytes per block] (gguf-py's GGML_QUANT_SIZES). */
export const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['F32', 1, 4], 1: ['F16', 1, 2], 2: ['Q4_0', 32, 18], 3: ['Q4_1', 32, 20], 6: ['Q5_0', 32, 22], 7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34], 9: ['Q8_1', 32, 36], 10: ['Q2_K', 256, 84], 11: ['Q3_K', 256, 110], 12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176], 14: ['Q6_K', 256, 210], 15: ['Q8_K', 256, 292], 16: ['IQ2_XXS', 256, 66], 17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98], 19: ['IQ1_S', 256, 50], 20: ['IQ4_NL', 32, 18], 21: ['IQ3_S', 256, 110], 22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136], 24: ['I8', 1, 1], 25: ['I16', 1, 2], 26: ['I32', 1, 4], 27: ['I64', 1, 8], 28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56], 30: ['BF16', 1, 2], 34: ['TQ1_0', 256, 54], 35: ['TQ2_0', 256, 66],
};

/** GGUF metadata value types. */
const enum V { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 }

export type GGUFValue = number | bigint | boolean | string | GGUFValue[];

export interface GGUFTensorInfo {
  name: string;
  /** ggml type name (F32, F16, Q8_0, …). */
  type: string;
  /** Dims as stored, ne[0] (the fastest-varying) first. */
  dims: number[];
  /** Row-major shape as PyTorch sees it: dims reversed. */
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  byteLength: number;
}

export interface GGUFHeader {
  version: number;
  metadata: Record<string, GGUFValue>;
  tensors: GGUFTensorInfo[];
  alignment: number;
  dataStart: number;
}

/** Sequential reads over a ByteSource, fetched in growing chunks (the header can be MBs of vocabulary). */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0;
  pos = 0;
  constructor(private src: ByteSource) {}

  async need(n: number): Promise<void> {
    if (this.pos + n <= this.start + this.buf.length) return;
    if (this.pos + n > this.src.size) throw new FormatError(`${this.src.name}: truncated (GGUF header needs byte ${this.pos + n}, file has ${this.src.size})`);
    const len = Math.min(this.src.size - this.pos, Math.max(n, 1 << 20, this.buf.length * 2));
    this.buf = (await this.src.read(this.pos, len)).slice();
    this.view = new DataView(this.buf.buffer);
    this.start = this.pos;
  }

  private at(n: number): number {
    const i = this.pos - this.start;
    this.pos += n;
    return i;
  }

  async u32(): Promise<number> { await this.need(4); return this.view.getUint32(this.at(4), true); }
  async u64(): Promise<number> {
    await this.need(8);
    const v = this.view.getBigUint64(this.at(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${this.src.name}: count ${v} at byte ${this.pos - 8} is implausibly large`);
    return Number(v);
  }

  async string(): Promise<string> {
    const n = await this.u64();
    await this.need(n);
    const i = this.at(n);
    return new TextDecoder().decode(this.buf.subarray(i, i + n));
  }

  async value(type: number, key: string, depth = 0): Promise<GGUFValue> {
    const fixed: Partial<Record<number, [number, (o: number) => GGUFValue]>> = {
      [V.U8]: [1, (o) => this.view.getUint8(o)], [V.I8]: [1, (o) => this.view.getInt8(o)],
      [V.U16]: [2, (o) => this.view.getUint16(o, true)], [V.I16]: [2, (o) => this.view.getInt16(o, true)],
      [V.U32]: [4, (o) => this.view.getUint32(o, true)], [V.I32]: [4, (o) => this.view.getInt32(o, true)],
      [V.F32]: [4, (o) => this.view.getFloat32(o, true)], [V.BOOL]: [1, (o) => this.view.getUint8(o) !== 0],
      [V.U64]: [8, (o) => safe(this.view.getBigUint64(o, true))], [V.I64]: [8, (o) => safe(this.view.getBigInt64(o, true))],
      [V.F64]: [8, (o) => this.view.getFloat64(o, true)],
    };
    const f = fixed[type];
    if (f) {
      await this.need(f[0]);
      return f[1](this.at(f[0]));
    }
    if (type === V.STRING) return this.string();
    if (type === V.ARRAY) {
      if (depth > 2) throw new FormatError(`metadata "${key}": arrays nested too deep`);
      const itemType = await this.u32();
      const n = await this.u64();
      const out: GGUFValue[] = [];
      for (let i = 0; i < n; i++) out.push(await this.value(itemType, key, depth + 1));
      return out;
    }
    throw new FormatError(`metadata "${key}": unknown value type ${type}`);
  }
}

/** 64-bit integers become numbers when they fit exactly, else stay bigint. */
const safe = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

export async function readHeader(from: string | Uint8Array | ByteSource): Promise<GGUFHeader> {
  const src = await toSource(from);
  try {
    return await parseHeader(src);
  } finally {
    if (src !== from) await src.close();
  }
}

async function parseHeader(src: ByteSource): Promise<GGUFHeader> {
  const c = new Cursor(src);
  if (src.size < 4 || (await c.u32()) !== GGUF_MAGIC) throw new FormatError(`${src.name}: not a GGUF file (magic "GGUF" missing)`);
  const version = await c.u32();
  if (version !== 2 && version !== 3) throw new FormatError(`${src.name}: GGUF version ${version} is not supported (2 or 3)`);
  const nTensors = await c.u64();
  const nKv = await c.u64();
  const metadata: Record<string, GGUFValue> = {};
  for (let i = 0; i < nKv; i++) {
    const key = await c.string();
    if (Object.hasOwn(metadata, key)) throw new FormatError(`${src.name}: metadata key "${key}" appears twice`);
    metadata[key] = await c.value(await c.u32(), key);
  }
  const alignment = metadata['general.alignment'] ?? 32;
  if (typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new FormatError(`${src.name}: general.alignment must be a positive multiple of 8, got ${String(alignment)}`);
  }
  const raw: { name: string; dims: number[]; typeId: number; rel: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = await c.string();
    if (seen.has(name)) throw new FormatError(`${src.name}: tensor "${name}" appears twice`);
    seen.add(name);
    const nDims = await c.u32();
    if (nDims > 4) throw new FormatError(`tensor "${name}": ${nDims} dimensions (ggml has at most 4)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(await c.u64());
    raw.push({ name, dims, typeId: await c.u32(), rel: await c.u64() });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const tensors = raw.map(({ name, dims, typeId, rel }) => {
    const t = GGML_TYPES[typeId];
    if (!t) throw new FormatError(`tensor "${name}": unknown ggml type ${typeId}`);
    const [type, block, bytes] = t;
    let n = 1;
    for (const d of dims) {
      n *= d;
      if (!Number.isSafeInteger(n)) throw new FormatError(`tensor "${name}": element count overflows`);
    }
    if (dims.length && dims[0] % block !== 0) throw new FormatError(`tensor "${name}": ne[0] = ${dims[0]} is not a multiple of ${type}'s block of ${block}`);
    if (rel % alignment !== 0) throw new FormatError(`tensor "${name}": offset ${rel} is not aligned to ${alignment}`);
    const byteLength = (n / block) * bytes;
    const offset = dataStart + rel;
    if (offset + byteLength > src.size) throw new FormatError(`tensor "${name}": bytes ${offset}..${offset + byteLength} run past the end of the file (${src.size} bytes; truncated?)`);
    return { name, type, dims, shape: [...dims].reverse(), offset, byteLength };
  });
  // Tensors must not overlap (gguf-py reads each as its own view; an overlap means a corrupt table).
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].byteLength) throw new FormatError(`tensor "${sorted[i].name}" overlaps tensor "${sorted[i - 1].name}"`);
  }
  return { version, metadata, tensors, alignment, dataStart };
}

/** ggml's Q8_0: per block of 32, an f16 scale d then 32 int8 q; x = d·q. */
function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nBlocks = bytes.byteLength / 34;
  const out = new Float32Array(nBlocks * 32);
  for (let b = 0; b < nBlocks; b++) {
    const d = halfToFloat(view.getUint16(b * 34, true));
    for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(b * 34 + 2 + j);
  }
  return out;
}

export async function readTensor(from: string | Uint8Array | ByteSource, info: GGUFTensorInfo): Promise<Float32Array> {
  const decode: Record<string, (b: Uint8Array) => Float32Array> = { F32: f32, F16: f16ToF32, BF16: bf16ToF32, F64: f64ToF32, Q8_0: dequantizeQ8_0 };
  const fn = decode[info.type];
  if (!fn) throw new FormatError(`tensor "${info.name}": ggml type ${info.type} is not supported (F32, F16, BF16, Q8_0); re-quantise the model to Q8_0 or F16`);
  const src = await toSource(from);
  try {
    return fn(await src.read(info.offset, info.byteLength));
  } finally {
    if (src !== from) await src.close();
  }
}

// ── Llama-family models in GGUF ─────────────────────────────────────────────────────────────────
// llama.cpp names tensors per layer (blk.N.attn_q …); these map onto HF names so hf.ts's Llama
// table does the rest. Its convert_hf_to_gguf.py permutes q/k rows of the `llama` architecture
// from HF's rotate-half order into interleaved pairs (LlamaModel.permute); `qwen2` is stored
// unpermuted (NeoX-style rope), so only `llama` is permuted back here.

const GGUF_TO_HF: Record<string, string> = {
  attn_norm: 'input_layernorm', attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj', ffn_norm: 'post_attention_layernorm', ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj',
};
const GGUF_GLOBAL: Record<string, string> = { 'token_embd.weight': 'model.embed_tokens.weight', 'output_norm.weight': 'model.norm.weight', 'output.weight': 'lm_head.weight' };

/** The HF name of a llama.cpp tensor name, or null when it has none. */
export function ggufToHfName(name: string): string | null {
  if (GGUF_GLOBAL[name]) return GGUF_GLOBAL[name];
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (!m || !GGUF_TO_HF[m[2]]) return null;
  return `model.layers.${m[1]}.${GGUF_TO_HF[m[2]]}.${m[3]}`;
}

/** Architectures read from GGUF: general.architecture → [HF architecture, q/k permuted by the converter]. */
export const GGUF_ARCHITECTURES: Readonly<Record<string, readonly [string, boolean]>> = {
  llama: ['LlamaForCausalLM', true],
  qwen2: ['Qwen2ForCausalLM', false],
};

/** config.json equivalent of a GGUF's metadata, for hf.ts's fromHf (sizes llama.cpp stores per architecture). */
export function ggufHfConfig(h: GGUFHeader): Record<string, unknown> {
  const arch = h.metadata['general.architecture'];
  if (typeof arch !== 'string' || !Object.hasOwn(GGUF_ARCHITECTURES, arch)) {
    throw new FormatError(`GGUF architecture ${JSON.stringify(arch)} is not supported (supported: ${Object.keys(GGUF_ARCHITECTURES).join(', ')})`);
  }
  const num = (key: string, fallback?: number): number => {
    const v = h.metadata[`${arch}.${key}`] ?? fallback;
    if (typeof v !== 'number') throw new FormatError(`GGUF metadata ${arch}.${key} is missing or not a number`);
    return v;
  };
  const byName = new Map(h.tensors.map((t) => [t.name, t]));
  const embd = byName.get('token_embd.weight');
  if (!embd) throw new FormatError('GGUF: tensor token_embd.weight is missing');
  if (byName.has('rope_freqs.weight')) throw new FormatError('GGUF tensor rope_freqs.weight (Llama 3.1 rope scaling) is not supported; import the Hugging Face folder instead');
  const heads = num('attention.head_count');
  const nEmbd = num('embedding_length');
  const ropeDim = h.metadata[`${arch}.rope.dimension_count`];
  if (ropeDim !== undefined && ropeDim !== nEmbd / heads) throw new FormatError(`GGUF metadata ${arch}.rope.dimension_count ${String(ropeDim)} ≠ head size ${nEmbd / heads} is not supported`);
  return {
    architectures: [GGUF_ARCHITECTURES[arch][0]],
    vocab_size: embd.shape[0], hidden_size: nEmbd, intermediate_size: num('feed_forward_length'), num_hidden_layers: num('block_count'),
    num_attention_heads: heads, num_key_value_heads: num('attention.head_count_kv', heads), max_position_embeddings: num('context_length'),
    rope_theta: num('rope.freq_base', 10000), rms_norm_eps: num('attention.layer_norm_rms_epsilon', 1e-5),
    tie_word_embeddings: !byName.has('output.weight'),
  };
}

/** Undoes LlamaModel.permute on rows: within each of nHead heads, row 2i+j (interleaved) → j·hs/2 + i (rotate-half). */
export function unpermuteRows(data: Float32Array, rows: number, nHead: number): Float32Array {
  const cols = data.length / rows;
  const hs = rows / nHead;
  const out = new Float32Array(data.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < hs / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const from = (h * hs + 2 * i + j) * cols;
        out.set(data.subarray(from, from + cols), (h * hs + j * (hs / 2) + i) * cols);
      }
    }
  }
  return out;
}

/**
 * The tokenizer a GGUF carries, as tokenizer.json + tokenizer_config.json: `gpt2` (byte-level
 * BPE) vocabularies, and `llama` (SentencePiece BPE with scores) ones laid out as llama2.c's are
 * (<unk>, <s>, </s> first); null for others, which then need --tokenizer. The gpt2 pre-tokenizer
 * is GPT-2's regex: models whose `tokenizer.ggml.pre` names another split text at slightly
 * different places.
 */
export function ggufTokenizerFiles(h: GGUFHeader): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } | null {
  const m = h.metadata;
  const tokens = m['tokenizer.ggml.tokens'];
  if (m['tokenizer.ggml.model'] === 'llama' && Array.isArray(tokens) && Array.isArray(m['tokenizer.ggml.scores']) && tokens.slice(0, 3).join(' ') === '<unk> <s> </s>') {
    const pieces = tokens.map((t) => String(t).replaceAll('\u2581', ' '));
    const scores = (m['tokenizer.ggml.scores'] as GGUFValue[]).map(Number);
    return {
      tokenizer: llama2cToTokenizerJson({ type: 'llama2c-sp', version: 1, maxTokenLength: Math.max(...pieces.map((p) => p.length)), pieces, scores }),
      config: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', ...(typeof m['tokenizer.chat_template'] === 'string' ? { chat_template: m['tokenizer.chat_template'] } : {}) },
    };
  }
  if (m['tokenizer.ggml.model'] !== 'gpt2') return null;
  const merges = m['tokenizer.ggml.merges'];
  if (!Array.isArray(tokens) || !Array.isArray(merges)) throw new FormatError('GGUF: tokenizer.ggml.tokens or tokenizer.ggml.merges missing for a gpt2 tokenizer');
  const types = Array.isArray(m['tokenizer.ggml.token_type']) ? (m['tokenizer.ggml.token_type'] as number[]) : [];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[String(t)] = i));
  // llama.cpp token types: 3 = control, 4 = user-defined; both are added tokens, control ones special.
  const added = tokens.flatMap((t, i) => (types[i] === 3 || types[i] === 4 ? [{ id: i, content: String(t), single_word: false, lstrip: false, rstrip: false, normalized: false, special: types[i] === 3 }] : []));
  const tokenAt = (key: string) => (typeof m[key] === 'number' ? String(tokens[m[key] as number]) : null);
  return {
    tokenizer: {
      version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(String) },
    },
    config: {
      bos_token: tokenAt('tokenizer.ggml.bos_token_id'), eos_token: tokenAt('tokenizer.ggml.eos_token_id'),
      ...(typeof m['tokenizer.chat_template'] === 'string' ? { chat_template: m['tokenizer.chat_template'] } : {}),
    },
  };
}
