// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
// N, N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {…} },
// then the tensors' bytes, back to back. readHeader validates as the reference reader does:
// length, size cap, JSON, then offsets contiguous from 0, byte counts = elements × dtype size
// (overflow-checked), and the buffer ending exactly at the last offset. Tensors are then read by
// byte range, so a multi-GB file is never loaded whole.
//
// A sharded checkpoint is a model.safetensors.index.json { weight_map: { name: file } } beside
// its shards; openSafetensors(dir) reads either layout into one name → (file, tensor) table.
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32, f64ToF32 } from './dtypes.ts';
import { FormatError } from './errors.ts';
import { toSource, type ByteSource } from './source.ts';

/** Bytes per element of every dtype the format defines. */
export const DTYPE_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** The reference implementation's cap on the JSON header. */
export const MAX_HEADER_SIZE = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset in the file (past the header). */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string>;
  /** Where the tensor data starts: 8 + header length. */
  dataStart: number;
}

/** Product of a shape, refusing a count past 2^53 (the reference reader checks u64 overflow). */
function elementCount(shape: number[], name: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new FormatError(`tensor "${name}": shape entry ${d} is not a non-negative integer`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new FormatError(`tensor "${name}": element count overflows`);
  }
  return n;
}

export async function readHeader(from: string | Uint8Array | ByteSource): Promise<SafetensorsHeader> {
  const src = await toSource(from);
  try {
    return await parseHeader(src);
  } finally {
    if (src !== from) await src.close();
  }
}

async function parseHeader(src: ByteSource): Promise<SafetensorsHeader> {
  if (src.size < 8) throw new FormatError(`${src.name}: too short for a safetensors header (${src.size} bytes)`);
  const n = new DataView((await src.read(0, 8)).slice().buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) throw new FormatError(`${src.name}: header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte cap`);
  const headerLength = Number(n);
  if (8 + headerLength > src.size) throw new FormatError(`${src.name}: header length ${headerLength} runs past the end of the file (${src.size} bytes)`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(await src.read(8, headerLength));
  if (!text.startsWith('{')) throw new FormatError(`${src.name}: header is not a JSON object`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${src.name}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FormatError(`${src.name}: header is not a JSON object`);

  const dataStart = 8 + headerLength;
  const metadata: Record<string, string> = {};
  const raw: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new FormatError(`${src.name}: __metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_SIZES)) throw new FormatError(`tensor "${name}": unknown dtype ${JSON.stringify(e?.dtype)}`);
    if (!Array.isArray(e.shape)) throw new FormatError(`tensor "${name}": shape must be an array`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new FormatError(`tensor "${name}": data_offsets must be two non-negative integers`);
    }
    raw.push({ name, dtype: e.dtype, shape: e.shape as number[], begin: offsets[0], end: offsets[1] });
  }

  // Metadata::validate: sorted by offset, each tensor starts where the previous one ended.
  raw.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  const tensors: TensorInfo[] = [];
  for (const t of raw) {
    if (t.begin !== expected || t.end < t.begin) throw new FormatError(`tensor "${t.name}": data_offsets [${t.begin}, ${t.end}] are not contiguous (expected to start at ${expected})`);
    const bytes = elementCount(t.shape, t.name) * DTYPE_SIZES[t.dtype];
    if (!Number.isSafeInteger(bytes)) throw new FormatError(`tensor "${t.name}": byte size overflows`);
    if (t.end - t.begin !== bytes) throw new FormatError(`tensor "${t.name}": ${t.end - t.begin} bytes for shape [${t.shape}] of ${t.dtype}, which needs ${bytes}`);
    expected = t.end;
    tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, offset: dataStart + t.begin, byteLength: bytes });
  }
  if (dataStart + expected !== src.size) {
    throw new FormatError(`${src.name}: tensor data ends at byte ${dataStart + expected} but the file has ${src.size} bytes (truncated or trailing data)`);
  }
  return { tensors, metadata, dataStart };
}

/** One tensor as float32: F32 as is, F16/BF16/F64 converted; other dtypes are refused. */
export async function readTensor(from: string | Uint8Array | ByteSource, info: TensorInfo): Promise<Float32Array> {
  const src = await toSource(from);
  try {
    const bytes = await src.read(info.offset, info.byteLength);
    switch (info.dtype) {
      case 'F32': return f32(bytes);
      case 'F16': return f16ToF32(bytes);
      case 'BF16': return bf16ToF32(bytes);
      case 'F64': return f64ToF32(bytes);
      default: throw new FormatError(`tensor "${info.name}": dtype ${info.dtype} is not a float type Jielong loads (F32, F16, BF16, F64)`);
    }
  } finally {
    if (src !== from) await src.close();
  }
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Writes F32 tensors per the spec: header padded with spaces to a multiple of 8, data in order. */
export async function writeSafetensors(path: string, tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Promise<void> {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new FormatError(`tensor "${t.name}": shape [${t.shape}] has ${n} elements but the data ${t.data.length}`);
    if (t.name in header) throw new FormatError(`tensor "${t.name}" appears twice`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const fh = await open(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    await fh.write(len);
    await fh.write(json);
    for (const t of tensors) await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  } finally {
    await fh.close();
  }
}

export interface LocatedTensor extends TensorInfo {
  file: string;
}

/** Every tensor of a model folder (model.safetensors, or shards listed in model.safetensors.index.json). */
export async function openSafetensors(dir: string): Promise<Map<string, LocatedTensor>> {
  const single = join(dir, 'model.safetensors');
  const indexPath = join(dir, 'model.safetensors.index.json');
  const out = new Map<string, LocatedTensor>();
  let files: string[];
  let weightMap: Record<string, string> | null = null;
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8'));
    } catch (e) {
      throw new FormatError(`${indexPath}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof index.weight_map !== 'object' || index.weight_map === null) throw new FormatError(`${indexPath}: weight_map missing`);
    weightMap = index.weight_map;
    files = [...new Set(Object.values(weightMap))];
  } else if (existsSync(single)) {
    files = ['model.safetensors'];
  } else {
    throw new FormatError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  for (const file of files) {
    if (file.includes('/') || file.includes('\\')) throw new FormatError(`${indexPath}: shard name "${file}" must be a file in the folder`);
    const path = join(dir, file);
    if (!existsSync(path)) throw new FormatError(`${dir}: shard ${file} is missing`);
    for (const t of (await readHeader(path)).tensors) {
      if (out.has(t.name)) throw new FormatError(`tensor "${t.name}" appears in ${out.get(t.name)!.file} and ${file}`);
      if (weightMap && weightMap[t.name] !== file) throw new FormatError(`tensor "${t.name}" is in ${file} but the index maps it to ${weightMap[t.name] ?? 'nothing'}`);
      out.set(t.name, { ...t, file: path });
    }
  }
  if (weightMap) for (const name of Object.keys(weightMap)) if (!out.has(name)) throw new FormatError(`tensor "${name}" is in the index but in no shard`);
  return out;
}
