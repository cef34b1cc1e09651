// llama2.c's files (karpathy/llama2.c, "legacy" version 0 export), read into our Llama names.
//
// model .bin: seven int32 — dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative:
// the classifier is not the embedding), seq_len — then float32 tensors back to back, each linear as
// PyTorch stores it ([out, in]) and stacked over layers:
//   token_embedding [V, C], rms_att [L, C], wq [L, C, C], wk [L, KV, C], wv [L, KV, C], wo [L, C, C],
//   rms_ffn [L, C], w1 [L, F, C], w2 [L, C, F], w3 [L, F, C], rms_final [C],
//   freq_cis_real [T, hs/2], freq_cis_imag [T, hs/2] (unused: we compute rotary tables), wcls [V, C] (unshared only).
// Rotary pairs are interleaved there (dims 2j, 2j+1 of a head rotate together); ours are
// rotate-half (j, j + hs/2), so q and k rows are permuted within each head on the way in.
//
// tokenizer .bin: int32 max_token_length, then per piece: float32 score, int32 length, the bytes.
import { llamaConfig, type LlamaConfig } from '../models/llama.ts';
import { Llama2cTokenizer } from '../tokenizers/llama2c.ts';

import { FormatError } from './errors.ts';

export { FormatError };

const HEADER_BYTES = 28;
/** llama2.c's version-1+ exports start with this int32 ("ak42") and a 256-byte header. */
const VERSIONED_MAGIC = 0x616b3432;

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  /** The classifier is the token embedding (vocab_size was positive). */
  shared: boolean;
  seqLen: number;
}

/** One tensor of the file: its llama2.c name, shape and place. */
export interface Llama2cTensorInfo {
  name: string;
  shape: number[];
  offset: number;
  byteLength: number;
}

/** Parses and checks the header, and lays out every tensor it implies; the file length must match. */
export function readLlama2cHeader(bytes: Uint8Array): { header: Llama2cHeader; tensors: Llama2cTensorInfo[] } {
  if (bytes.byteLength < HEADER_BYTES) throw new FormatError(`llama2.c model: file is ${bytes.byteLength} bytes, shorter than its ${HEADER_BYTES}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) === VERSIONED_MAGIC) {
    throw new FormatError('llama2.c model: this is a version-1+ export (magic "ak42"); only the legacy version 0 layout is supported (export.py --version 0)');
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const header: Llama2cHeader = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), shared: rawVocab > 0, seqLen };
  for (const [field, v] of Object.entries({ dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, vocab_size: header.vocabSize, seq_len: seqLen })) {
    if (!(v > 0)) throw new FormatError(`llama2.c model: header field ${field} is ${v}, expected a positive size`);
  }
  if (dim % nHeads !== 0) throw new FormatError(`llama2.c model: dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) throw new FormatError(`llama2.c model: n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  const hs = dim / nHeads;
  if (hs % 2 !== 0) throw new FormatError(`llama2.c model: head size ${hs} must be even for rotary embeddings`);
  const kv = hs * nKvHeads;
  const V = header.vocabSize;
  const L = nLayers;
  const shapes: [string, number[]][] = [
    ['token_embedding', [V, dim]],
    ['rms_att', [L, dim]],
    ['wq', [L, dim, dim]],
    ['wk', [L, kv, dim]],
    ['wv', [L, kv, dim]],
    ['wo', [L, dim, dim]],
    ['rms_ffn', [L, dim]],
    ['w1', [L, hiddenDim, dim]],
    ['w2', [L, dim, hiddenDim]],
    ['w3', [L, hiddenDim, dim]],
    ['rms_final', [dim]],
    ['freq_cis_real', [seqLen, hs / 2]],
    ['freq_cis_imag', [seqLen, hs / 2]],
  ];
  if (!header.shared) shapes.push(['wcls', [V, dim]]);
  let offset = HEADER_BYTES;
  const tensors = shapes.map(([name, shape]) => {
    const byteLength = shape.reduce((a, b) => a * b, 4);
    const info = { name, shape, offset, byteLength };
    offset += byteLength;
    return info;
  });
  if (!Number.isSafeInteger(offset)) throw new FormatError('llama2.c model: the header implies an impossibly large file');
  if (bytes.byteLength !== offset) {
    const sizes = `dim ${dim}, hidden_dim ${hiddenDim}, n_layers ${L}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}, vocab_size ${rawVocab}, seq_len ${seqLen}`;
    const short = tensors.find((t) => t.offset + t.byteLength > bytes.byteLength);
    const where = short ? `; it ends inside tensor ${short.name}` : `; ${bytes.byteLength - offset} bytes are left over after the last tensor`;
    throw new FormatError(`llama2.c model: file is ${bytes.byteLength} bytes but its header (${sizes}) implies ${offset}${where}`);
  }
  return { header, tensors };
}

/** float32 little-endian values of one tensor (copied: the file's offsets need not be aligned). */
function floats(bytes: Uint8Array, info: Llama2cTensorInfo): Float32Array {
  const out = new Float32Array(info.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes.subarray(info.offset, info.offset + info.byteLength));
  return out;
}

/** Layer i of a stacked [L, out, in] tensor, transposed to our [in, out]; `rows` reorders the outputs. */
function layerTransposed(all: Float32Array, i: number, out: number, inn: number, rows?: Int32Array): Float32Array {
  const res = new Float32Array(out * inn);
  const base = i * out * inn;
  for (let o = 0; o < out; o++) {
    const src = base + (rows ? rows[o] : o) * inn;
    for (let k = 0; k < inn; k++) res[k * out + o] = all[src + k];
  }
  return res;
}

/** Output row order that turns interleaved rotary pairs into rotate-half: new j ← 2j, new j+hs/2 ← 2j+1. */
export function interleavedToHalf(heads: number, hs: number): Int32Array {
  const order = new Int32Array(heads * hs);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < hs / 2; j++) {
      order[h * hs + j] = h * hs + 2 * j;
      order[h * hs + j + hs / 2] = h * hs + 2 * j + 1;
    }
  }
  return order;
}

/** A llama2.c model file → our Llama config and every parameter by our name ([in, out] layout). */
export function readLlama2c(bytes: Uint8Array): { config: LlamaConfig; tensors: Record<string, Float32Array> } {
  const { header: h, tensors: infos } = readLlama2cHeader(bytes);
  const t = Object.fromEntries(infos.map((info) => [info.name, floats(bytes, info)]));
  const { dim: C, hiddenDim: F, nHeads: H, nKvHeads: Hkv } = h;
  const hs = C / H;
  const config = llamaConfig({
    vocabSize: h.vocabSize,
    blockSize: h.seqLen,
    nLayer: h.nLayers,
    nHead: H,
    nKvHead: Hkv,
    nEmbd: C,
    hiddenSize: F,
    ropeTheta: 10000, // llama2.c's run.c hard-codes it, as the 1e-5 of its RMSNorm
    normEps: 1e-5,
    tiedEmbeddings: h.shared,
    attentionBias: false,
  });
  const qRows = interleavedToHalf(H, hs);
  const kRows = interleavedToHalf(Hkv, hs);
  const out: Record<string, Float32Array> = { wte: t.token_embedding, 'norm_f.g': t.rms_final };
  for (let i = 0; i < h.nLayers; i++) {
    const p = `h.${i}.`;
    out[p + 'attn_norm.g'] = t.rms_att.slice(i * C, (i + 1) * C);
    out[p + 'attn.q.w'] = layerTransposed(t.wq, i, C, C, qRows);
    out[p + 'attn.k.w'] = layerTransposed(t.wk, i, hs * Hkv, C, kRows);
    out[p + 'attn.v.w'] = layerTransposed(t.wv, i, hs * Hkv, C);
    out[p + 'attn.o.w'] = layerTransposed(t.wo, i, C, C);
    out[p + 'mlp_norm.g'] = t.rms_ffn.slice(i * C, (i + 1) * C);
    out[p + 'mlp.gate.w'] = layerTransposed(t.w1, i, F, C);
    out[p + 'mlp.up.w'] = layerTransposed(t.w3, i, F, C);
    out[p + 'mlp.down.w'] = layerTransposed(t.w2, i, C, F);
  }
  if (!h.shared) out['lm_head.w'] = layerTransposed(t.wcls, 0, h.vocabSize, C);
  return { config, tensors: out };
}

/** A llama2.c tokenizer file; `vocabSize` (from the model header) must match its piece count. */
export function readLlama2cTokenizer(bytes: Uint8Array, vocabSize?: number): Llama2cTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new FormatError(`llama2.c tokenizer: file is ${bytes.byteLength} bytes, too short for max_token_length`);
  const maxTokenLength = view.getInt32(0, true);
  if (!(maxTokenLength > 0)) throw new FormatError(`llama2.c tokenizer: max_token_length is ${maxTokenLength}, expected a positive length`);
  const text = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  const scores: number[] = [];
  let o = 4;
  while (o < bytes.byteLength) {
    const id = pieces.length;
    if (o + 8 > bytes.byteLength) throw new FormatError(`llama2.c tokenizer: piece ${id} is cut off in its score/length (at byte ${o})`);
    const score = view.getFloat32(o, true);
    const len = view.getInt32(o + 4, true);
    o += 8;
    if (len < 0 || len > maxTokenLength) throw new FormatError(`llama2.c tokenizer: piece ${id} has length ${len}, outside 0..max_token_length ${maxTokenLength}`);
    if (o + len > bytes.byteLength) throw new FormatError(`llama2.c tokenizer: piece ${id} needs ${len} bytes but the file ends after ${bytes.byteLength - o}`);
    try {
      pieces.push(text.decode(bytes.subarray(o, o + len)));
    } catch {
      throw new FormatError(`llama2.c tokenizer: piece ${id} is not valid UTF-8`);
    }
    scores.push(score);
    o += len;
  }
  if (vocabSize !== undefined && pieces.length !== vocabSize) {
    throw new FormatError(`llama2.c tokenizer: it holds ${pieces.length} pieces but the model's vocab_size is ${vocabSize}`);
  }
  // <s> and </s> are exported as "\n<s>\n" and "\n</s>\n"; the tokenizer knows them by id.
  return new Llama2cTokenizer(pieces, scores, maxTokenLength);
}
