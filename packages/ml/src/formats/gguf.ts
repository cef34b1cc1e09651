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
