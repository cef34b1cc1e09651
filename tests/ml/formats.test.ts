// The format readers on tiny files built byte by byte: each validation failure is refused with a
// FormatError naming the part at fault, as checkpoint.test.ts refuses a flipped byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ARCHITECTURES, architectureOf, expandRules, mapWeights, type SourceTensor,
} from '../../packages/ml/src/formats/hf.ts';
import { ggufTokenizerFiles, readHeader as readGguf, readTensor as readGgufTensor } from '../../packages/ml/src/formats/gguf.ts';
import { openSafetensors, readHeader, readTensor, writeSafetensors } from '../../packages/ml/src/formats/safetensors.ts';
import { createModel, FormatError, HfTokenizer, initBackend, llamaConfig, readLlama2cTokenizer, type ModelConfig } from '../../packages/ml/src/index.ts';

await initBackend('wasm');

// ── safetensors ────────────────────────────────────────────────────────────────────────────────
function safetensors(header: unknown, data: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32bytes = (...xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

test('safetensors: a valid file is read, F16 and BF16 widened', async () => {
  const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // f16 1, −2
  const bf = new Uint8Array([0x80, 0x3f, 0x40, 0x40]); // bf16 1, 3
  const file = safetensors(
    { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F16', shape: [2], data_offsets: [8, 12] }, c: { dtype: 'BF16', shape: [1, 2], data_offsets: [12, 16] }, __metadata__: { format: 'pt' } },
    new Uint8Array([...f32bytes(0.5, -1), ...half, ...bf]),
    3,
  );
  const h = await readHeader(file);
  assert.deepEqual(h.metadata, { format: 'pt' });
  assert.deepEqual(h.tensors.map((t) => t.name), ['a', 'b', 'c']);
  assert.deepEqual(Array.from(await readTensor(file, h.tensors[0])), [0.5, -1]);
  assert.deepEqual(Array.from(await readTensor(file, h.tensors[1])), [1, -2]);
  assert.deepEqual(Array.from(await readTensor(file, h.tensors[2])), [1, 3]);
});

test('safetensors: every validation failure is refused, naming the tensor', async () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data = f32bytes(1, 2);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /too short/],
    ['header over the cap', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 200_000_000n, true); return b; })(), /exceeds the 100000000-byte cap/],
    ['header past the end', (() => { const b = safetensors(ok, data); new DataView(b.buffer).setBigUint64(0, 10_000n, true); return b; })(), /runs past the end/],
    ['not JSON', (() => { const b = safetensors(ok, data); b[9] = 0x7b; b[10] = 0x7b; return b; })(), /not valid JSON/],
    ['unknown dtype', safetensors({ a: { dtype: 'F12', shape: [2], data_offsets: [0, 8] } }, data), /tensor "a": unknown dtype "F12"/],
    ['gap between tensors', safetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [0], data_offsets: [6, 6] } }, data), /tensor "b".*not contiguous/],
    ['overlap', safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data), /tensor "b".*not contiguous/],
    ['bytes ≠ elements × size', safetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), /tensor "a": 8 bytes for shape \[3\] of F32, which needs 12/],
    ['element count overflow', safetensors({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, data), /tensor "a": element count overflows/],
    ['negative dim', safetensors({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), /tensor "a": shape entry -2/],
    ['truncated data', safetensors(ok, data).subarray(0, -2), /truncated or trailing/],
    ['trailing data', new Uint8Array([...safetensors(ok, data), 0, 0, 0, 0]), /truncated or trailing/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(readHeader(bytes), (e: Error) => e instanceof FormatError && message.test(e.message), what);
  }
  const ints = safetensors({ n: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, data);
  const h = await readHeader(ints);
  await assert.rejects(readTensor(ints, h.tensors[0]), /tensor "n": dtype I32 is not a float type/);
});

test('safetensors: writeSafetensors pads the header to 8 bytes and reads back bit-exactly from a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-st-'));
  const path = join(dir, 'x.safetensors');
  const w = new Float32Array([1.5, -2.25, 3, 4, 5, 6]);
  await writeSafetensors(path, [{ name: 'w', shape: [2, 3], data: w }, { name: 'b', shape: [1], data: new Float32Array([7]) }], { format: 'pt' });
  const h = await readHeader(path);
  assert.equal(h.dataStart % 8, 0);
  assert.deepEqual(h.tensors.map((t) => [t.name, t.shape, t.dtype]), [['w', [2, 3], 'F32'], ['b', [1], 'F32']]);
  assert.deepEqual(await readTensor(path, h.tensors[0]), w);
  await assert.rejects(writeSafetensors(path, [{ name: 'w', shape: [4], data: w }]), /shape \[4\] has 4 elements but the data 6/);
  rmSync(dir, { recursive: true, force: true });
});

// ── GGUF ───────────────────────────────────────────────────────────────────────────────────────
/** A GGUF v3 file from parts: metadata (typed), tensors (ggml type, dims, raw bytes). */
class GgufBuilder {
  private kvs: number[][] = [];
  private infos: { name: string; type: number; dims: number[]; bytes: Uint8Array }[] = [];
  constructor(private alignment = 32) {}
  private static u32 = (v: number) => Array.from(new Uint8Array(new Uint32Array([v]).buffer));
  private static u64 = (v: number) => Array.from(new Uint8Array(new BigUint64Array([BigInt(v)]).buffer));
  private static str = (s: string) => { const b = Array.from(new TextEncoder().encode(s)); return [...GgufBuilder.u64(b.length), ...b]; };
  kv(key: string, type: number, value: number[]): this {
    this.kvs.push([...GgufBuilder.str(key), ...GgufBuilder.u32(type), ...value]);
    return this;
  }
  string(key: string, s: string): this {
    return this.kv(key, 8, GgufBuilder.str(s));
  }
  tensor(name: string, type: number, dims: number[], bytes: Uint8Array): this {
    this.infos.push({ name, type, dims, bytes });
    return this;
  }
  build({ magic = 'GGUF', version = 3 } = {}): Uint8Array {
    const out: number[] = [...new TextEncoder().encode(magic), ...GgufBuilder.u32(version), ...GgufBuilder.u64(this.infos.length), ...GgufBuilder.u64(this.kvs.length), ...this.kvs.flat()];
    let offset = 0;
    const data: number[] = [];
    for (const t of this.infos) {
      out.push(...GgufBuilder.str(t.name), ...GgufBuilder.u32(t.dims.length), ...t.dims.flatMap(GgufBuilder.u64), ...GgufBuilder.u32(t.type), ...GgufBuilder.u64(offset));
      const padded = [...t.bytes, ...new Array((this.alignment - (t.bytes.length % this.alignment)) % this.alignment).fill(0)];
      data.push(...padded);
      offset += padded.length;
    }
    while (out.length % this.alignment) out.push(0);
    return Uint8Array.from([...out, ...data]);
  }
}

const u32 = (v: number) => Array.from(new Uint8Array(new Uint32Array([v]).buffer));

test('GGUF: metadata of every value type, alignment, F32/F16 and Q8_0 tensors with reversed dims', async () => {
  const f32 = (...xs: number[]) => Array.from(new Uint8Array(new Float32Array(xs).buffer));
  const f64 = (x: number) => Array.from(new Uint8Array(new Float64Array([x]).buffer));
  // Q8_0 block: f16 scale 0.5, then 32 int8 values −16..15.
  const q8 = Uint8Array.from([0x00, 0x38, ...Array.from({ length: 32 }, (_, i) => (i - 16) & 0xff)]);
  const file = new GgufBuilder(64)
    .kv('general.alignment', 4, u32(64))
    .kv('t.u8', 0, [200]).kv('t.i8', 1, [0xff]).kv('t.u16', 2, [0x34, 0x12]).kv('t.i16', 3, [0xfe, 0xff])
    .kv('t.i32', 5, [0xfd, 0xff, 0xff, 0xff]).kv('t.f32', 6, f32(1.5)).kv('t.bool', 7, [1])
    .kv('t.u64', 10, [5, 0, 0, 0, 0, 0, 0, 0]).kv('t.i64', 11, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).kv('t.f64', 12, f64(2.5))
    .kv('t.arr', 9, [...u32(4), 2, 0, 0, 0, 0, 0, 0, 0, ...u32(7), ...u32(9)])
    .string('general.architecture', 'llama')
    .tensor('w', 0, [3, 2], Uint8Array.from(f32(1, 2, 3, 4, 5, 6)))
    .tensor('h', 1, [2], Uint8Array.from([0x00, 0x3c, 0x00, 0x40]))
    .tensor('q', 8, [32], q8)
    .build();
  const h = await readGguf(file);
  assert.equal(h.version, 3);
  assert.equal(h.alignment, 64);
  assert.equal(h.dataStart % 64, 0);
  assert.deepEqual(
    ['t.u8', 't.i8', 't.u16', 't.i16', 't.i32', 't.f32', 't.bool', 't.u64', 't.i64', 't.f64', 't.arr', 'general.architecture'].map((k) => h.metadata[k]),
    [200, -1, 0x1234, -2, -3, 1.5, true, 5, -1, 2.5, [7, 9], 'llama'],
  );
  const [w, half, q] = h.tensors;
  assert.deepEqual([w.dims, w.shape], [[3, 2], [2, 3]]);
  assert.deepEqual(Array.from(await readGgufTensor(file, w)), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(await readGgufTensor(file, half)), [1, 2]);
  assert.deepEqual(Array.from(await readGgufTensor(file, q)), Array.from({ length: 32 }, (_, i) => 0.5 * (i - 16)));
});

test('GGUF: bad magic, versions, truncation, unknown types, duplicates and unsupported quantisations are refused by name', async () => {
  const base = () => new GgufBuilder().string('general.architecture', 'llama').tensor('blk.0.attn_q.weight', 0, [2], f32bytes(1, 2));
  const cases: [string, Uint8Array, RegExp][] = [
    ['bad magic', base().build({ magic: 'GGUX' }), /not a GGUF file/],
    ['version 1', base().build({ version: 1 }), /version 1 is not supported/],
    ['truncated header', base().build().subarray(0, 40), /truncated/],
    ['unknown type', new GgufBuilder().tensor('x', 99, [2], new Uint8Array(8)).build(), /tensor "x": unknown ggml type 99/],
    ['data past the end', base().build().subarray(0, -30), /tensor "blk.0.attn_q.weight".*run past the end/],
    ['duplicate key', new GgufBuilder().string('a', 'x').string('a', 'y').build(), /metadata key "a" appears twice/],
    ['duplicate tensor', new GgufBuilder().tensor('x', 0, [1], f32bytes(1)).tensor('x', 0, [1], f32bytes(1)).build(), /tensor "x" appears twice/],
    ['block-misaligned Q8_0', new GgufBuilder().tensor('x', 8, [16], new Uint8Array(34)).build(), /tensor "x": ne\[0\] = 16 is not a multiple of Q8_0's block of 32/],
    ['bad alignment', new GgufBuilder().kv('general.alignment', 4, u32(3)).build(), /general.alignment must be a positive multiple of 8/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(readGguf(bytes), (e: Error) => e instanceof FormatError && message.test(e.message), what);
  }
  const q4k = new GgufBuilder().tensor('blk.3.ffn_up.weight', 12, [256], new Uint8Array(144)).build();
  const h = await readGguf(q4k);
  await assert.rejects(readGgufTensor(q4k, h.tensors[0]), /tensor "blk.3.ffn_up.weight": ggml type Q4_K is not supported/);
});

// ── HF weight tables ───────────────────────────────────────────────────────────────────────────
test('the weight tables give exactly the parameters and shapes each model family creates', () => {
  const configs: [string, ModelConfig][] = [
    ['GPT2LMHeadModel', { family: 'gpt', vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 }],
    ['LlamaForCausalLM', llamaConfig({ vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 16, hiddenSize: 24 })],
    ['Qwen2ForCausalLM', llamaConfig({ vocabSize: 40, blockSize: 8, nLayer: 1, nHead: 2, nKvHead: 1, nEmbd: 8, hiddenSize: 12, attentionBias: true, tiedEmbeddings: true })],
  ];
  for (const [arch, config] of configs) {
    const model = createModel(config);
    const fromTable = Object.fromEntries(expandRules(ARCHITECTURES[arch], config).map((r) => [r.ours, r.shape]));
    const fromModel = Object.fromEntries(Object.entries(model.params).map(([n, v]) => [n, v.shape]));
    assert.deepEqual(fromTable, fromModel, arch);
    model.dispose();
  }
});

test('mapWeights names missing, mis-shaped and unexpected tensors; ignored buffers pass', async () => {
  const config = llamaConfig({ vocabSize: 10, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 4, hiddenSize: 6 });
  const arch = ARCHITECTURES.LlamaForCausalLM;
  const rules = expandRules(arch, config);
  const full = () => new Map<string, SourceTensor>(rules.map((r) => {
    const shape = r.op === 'transpose' ? [r.shape[1], r.shape[0]] : r.shape;
    return [r.hf, { shape, read: async () => new Float32Array(shape.reduce((a, b) => a * b, 1)) }];
  }));
  const ok = full();
  ok.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [1], read: async () => new Float32Array(1) });
  const tensors = await mapWeights(rules, ok, arch.ignore);
  assert.deepEqual(tensors['h.0.mlp.gate.w'].shape, [4, 6]);

  const missing = full();
  missing.delete('model.layers.0.mlp.up_proj.weight');
  await assert.rejects(mapWeights(rules, missing, arch.ignore), /missing tensor model.layers.0.mlp.up_proj.weight \(for h.0.mlp.up.w\)/);
  const wrong = full();
  wrong.set('model.norm.weight', { shape: [5], read: async () => new Float32Array(5) });
  await assert.rejects(mapWeights(rules, wrong, arch.ignore), /tensor model.norm.weight has shape \[5\], expected \[4\]/);
  const extra = full();
  extra.set('model.layers.0.self_attn.o_proj.bias', { shape: [4], read: async () => new Float32Array(4) });
  await assert.rejects(mapWeights(rules, extra, arch.ignore), /unexpected tensors model.layers.0.self_attn.o_proj.bias/);
});

test('config.json values our models cannot represent are refused naming the field', () => {
  const llama = { architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8 };
  const [, arch] = architectureOf(llama);
  assert.equal(arch.fromHf(llama).family, 'llama');
  assert.throws(() => arch.fromHf({ ...llama, hidden_act: 'gelu' }), /hidden_act "gelu"/);
  assert.throws(() => arch.fromHf({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_scaling type "yarn"/);
  assert.throws(() => arch.fromHf({ ...llama, hidden_size: 'big' }), /hidden_size must be a number/);
  assert.throws(() => arch.fromHf({ ...llama, num_key_value_heads: 3 }), /nKvHead/);
  const gpt2 = ARCHITECTURES.GPT2LMHeadModel;
  assert.throws(() => gpt2.fromHf({ n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8, vocab_size: 10, layer_norm_epsilon: 1e-6 }), /layer_norm_epsilon/);
  assert.throws(() => architectureOf({ model_type: 'bert' }), /model_type "bert" without architectures is not supported \(supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, GPT2ForSequenceClassification, LlamaForSequenceClassification, Qwen2ForSequenceClassification\)/);
});

test('sharded safetensors: an index naming a missing shard, or a tensor in the wrong shard, is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-shards-'));
  await writeSafetensors(join(dir, 'a.safetensors'), [{ name: 'x', shape: [1], data: new Float32Array([1]) }]);
  await writeSafetensors(join(dir, 'b.safetensors'), [{ name: 'y', shape: [1], data: new Float32Array([2]) }]);
  const index = (map: Record<string, string>) => writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  index({ x: 'a.safetensors', y: 'b.safetensors' });
  assert.deepEqual([...(await openSafetensors(dir)).keys()].sort(), ['x', 'y']);
  index({ x: 'a.safetensors', y: 'c.safetensors' });
  await assert.rejects(openSafetensors(dir), /shard c.safetensors is missing/);
  index({ x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' });
  await assert.rejects(openSafetensors(dir), /tensor "y" is in b.safetensors but the index maps it to a.safetensors/);
  index({ x: '../a.safetensors' });
  await assert.rejects(openSafetensors(dir), /must be a file in the folder/);
  rmSync(dir, { recursive: true, force: true });
});

test('GGUF: a SentencePiece (`llama`) vocabulary in the metadata becomes a tokenizer with llama2.c\'s ids', async () => {
  const models = join(import.meta.dirname, '../../../shared/data/models');
  const sp = readLlama2cTokenizer(readFileSync(join(models, 'tok512.bin')), 512);
  const { pieces, scores } = sp.toJSON();
  // llama.cpp stores pieces with "▁" and the specials by name, as its converter writes them.
  const tokens = pieces.map((p, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i] : p.replaceAll(' ', '▁')));
  const header = { version: 3, alignment: 32, dataStart: 0, tensors: [], metadata: { 'tokenizer.ggml.model': 'llama', 'tokenizer.ggml.tokens': tokens, 'tokenizer.ggml.scores': scores } };
  const files = ggufTokenizerFiles(header)!;
  const tok = new HfTokenizer(files.tokenizer, files.config);
  const text = 'Once upon a time, a dog named Max found a shiny 🙂 ball.';
  assert.deepEqual(tok.encode(text), sp.encode(text));
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.deepEqual([tok.bosId, tok.eotId], [1, 2]);
  assert.equal(ggufTokenizerFiles({ ...header, metadata: { 'tokenizer.ggml.model': 'bert' } }), null);
});
