// Hugging Face folders and GGUF files against PyTorch: tests/ml/fixtures/make_hf_models.py writes
// tiny GPT-2, Llama and Qwen2 models (F32, F16, BF16, sharded, GGUF with F32/F16/Q8_0) with the
// logits of its own forward pass; Jielong imports each and must give the same logits. Then export
// → import round trips, the exported folder's structure, and the tokenizer.json adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  BpeTokenizer, createModel, exportModel, FormatError, HfTokenizer, importModel, initBackend, loadCheckpoint, modelFromTensors, readSafetensorsHeader, renderChat,
  type CausalLM, type LlamaConfig,
} from '../../packages/ml/src/index.ts';
import { REPETITIVE } from './fixtures/corpus.ts';
import { maxAbsDiff } from './helpers.ts';

await initBackend('wasm');

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : `${PYTHON} lacks torch and numpy (CI installs them): the PyTorch reference logits cannot be made`;

const dir = mkdtempSync(join(tmpdir(), 'ml-hf-'));
if (hasTorch) execFileSync(PYTHON, [join(import.meta.dirname, 'fixtures', 'make_hf_models.py'), dir]);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Reference {
  input_ids: number[][];
  logits: number[][][];
}

function logitsOf(model: CausalLM, ids: number[][]): Float32Array {
  return tf.tidy(() => model.forward(tf.tensor2d(ids, undefined, 'int32')).logits!.dataSync() as Float32Array);
}

async function checkAgainstTorch(from: string, referenceFile: string, tolerance: number) {
  const imported = await importModel(from);
  const model = modelFromTensors(imported.config, imported.tensors);
  const ref = JSON.parse(readFileSync(referenceFile, 'utf8')) as Reference;
  const diff = maxAbsDiff(logitsOf(model, ref.input_ids), ref.logits.flat(2));
  model.dispose();
  assert.ok(diff < tolerance, `${from}: max |Δlogit| ${diff} ≥ ${tolerance}`);
  return imported;
}

for (const [name, arch] of [
  ['gpt2', 'GPT2LMHeadModel'],
  ['gpt2-f16', 'GPT2LMHeadModel'],
  ['llama', 'LlamaForCausalLM'],
  ['llama-bf16', 'LlamaForCausalLM'],
  ['llama-sharded', 'LlamaForCausalLM'],
  ['qwen2', 'Qwen2ForCausalLM'],
] as const) {
  // F16/BF16: the reference is PyTorch's forward on the same rounded weights, both in float32.
  test(`${name}: Jielong's logits match PyTorch's within 1e-4`, { skip }, async () => {
    const imported = await checkAgainstTorch(join(dir, name), join(dir, name, 'logits.json'), 1e-4);
    assert.equal(imported.provenance.sourceFormat, 'huggingface');
    assert.equal(imported.provenance.architecture, arch);
    assert.match(imported.provenance.licence ?? '', /Test fixture licence/);
    const weights = imported.provenance.files.filter((f) => f.role === 'model');
    assert.equal(weights.length, name === 'llama-sharded' ? 3 : 1);
    for (const f of weights) assert.match(f.sha256, /^[0-9a-f]{64}$/);
  });
}

test('a GGUF file (F32, F16 and Q8_0 tensors, q/k permuted by llama.cpp) gives PyTorch logits of the dequantised weights', { skip }, async () => {
  const imported = await checkAgainstTorch(join(dir, 'llama.gguf'), join(dir, 'llama-gguf-logits.json'), 1e-4);
  assert.equal(imported.provenance.sourceFormat, 'gguf');
  const c = imported.config as LlamaConfig;
  assert.deepEqual([c.nEmbd, c.nLayer, c.nHead, c.nKvHead, c.hiddenSize, c.blockSize, c.tiedEmbeddings], [32, 2, 4, 2, 64, 32, false]);
  assert.ok(Math.abs(c.normEps - 1e-6) < 1e-12 && c.ropeTheta === 10000);
  // Its tokenizer comes from the GGUF metadata (tokenizer.ggml.*), chat template included.
  const hf = await importModel(join(dir, 'llama'));
  const text = 'the wise man says in the west, 你好!';
  assert.deepEqual(imported.tokenizer.encode(text), hf.tokenizer.encode(text));
  assert.ok(imported.tokenizer.stopIds.includes(imported.tokenizer.specialId('<|im_end|>')));
});

test('the tokenizer.json adapter: byte-level BPE round-trips, merges apply, specials are not forged, chat template renders', { skip }, async () => {
  const { tokenizer } = await importModel(join(dir, 'gpt2'));
  assert.ok(tokenizer instanceof HfTokenizer);
  for (const text of ['the theme in the west', 'Ünïcödé 你好，世界 🙂\n\ttabs', '']) assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
  // "Ġthe" is the third merge: one token for " the".
  assert.deepEqual(tokenizer.encode(' the').length, 1);
  const end = tokenizer.specialId('<|im_end|>');
  assert.ok(!tokenizer.encode('typed <|im_end|> by a user').includes(end));
  assert.ok(tokenizer.encode('<|im_end|>', { allowSpecial: true }).includes(end));
  assert.equal(tokenizer.decode(tokenizer.encode('say <|im_end|> now')), 'say <|im_end|> now');
  assert.equal(tokenizer.eotId, end); // eos_token in tokenizer_config.json
  assert.deepEqual([...tokenizer.stopIds].sort(), [256, 258]); // <|endoftext|> and <|im_end|> end a sequence; <|im_start|> does not
  const chat = (tokenizer as HfTokenizer).chatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
  assert.equal(chat, '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  const stream = tokenizer.streamDecoder();
  const ids = tokenizer.encode('好🙂');
  assert.equal(ids.map((id) => stream.push(id)).join('') + stream.end(), '好🙂');
  // A checkpoint stores it as JSON and rebuilds it.
  const back = HfTokenizer.fromJSON(JSON.parse(JSON.stringify(tokenizer.toJSON())));
  assert.deepEqual(back.encode('the theme'), tokenizer.encode('the theme'));
});

test('export → import gives identical logits (GPT-2 with merged LoRA, Qwen2-shaped Llama) and a folder transformers expects', { skip }, async () => {
  const out = join(dir, 'export-llama');
  const imported = await importModel(join(dir, 'qwen2'));
  const model = modelFromTensors(imported.config, imported.tensors);
  const res = await exportModel(out, model, imported.tokenizer);
  assert.equal(res.architecture, 'Qwen2ForCausalLM');
  const back = await importModel(out);
  const again = modelFromTensors(back.config, back.tensors);
  const ids = [[1, 2, 3, 250, 4]];
  assert.deepEqual(logitsOf(again, ids), logitsOf(model, ids));
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  for (const key of ['architectures', 'model_type', 'torch_dtype', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'num_key_value_heads', 'rms_norm_eps', 'rope_theta', 'max_position_embeddings', 'tie_word_embeddings', 'vocab_size']) {
    assert.ok(key in config, `config.json lacks ${key}`);
  }
  assert.equal(config.model_type, 'qwen2');
  assert.equal(config.torch_dtype, 'float32');
  const header = await readSafetensorsHeader(join(out, 'model.safetensors'));
  assert.equal(header.metadata.format, 'pt');
  const names = new Map(header.tensors.map((t) => [t.name, t]));
  assert.deepEqual(names.get('model.layers.1.self_attn.k_proj.weight')?.shape, [8, 32]);
  assert.deepEqual(names.get('model.layers.0.self_attn.q_proj.bias')?.shape, [32]);
  assert.ok(!names.has('lm_head.weight'), 'a tied model writes no lm_head');
  assert.ok(header.tensors.every((t) => t.dtype === 'F32'));
  const generation = JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8'));
  assert.deepEqual(generation.eos_token_id, [...imported.tokenizer.stopIds]);
  for (const m of [model, again]) m.dispose();

  // A Jielong GPT with its own BPE and merged LoRA → GPT2LMHeadModel, tokenizer.json included.
  const bpe = BpeTokenizer.train(REPETITIVE, { vocabSize: 300 });
  const gpt = createModel({ family: 'gpt', vocabSize: bpe.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, { seed: 3 });
  gpt.addLora({ rank: 2, alpha: 4 });
  for (const [n, v] of Object.entries(gpt.params)) if (n.endsWith('.lora_b')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 5));
  const gptOut = join(dir, 'export-gpt');
  await exportModel(gptOut, gpt, bpe);
  const gptBack = await importModel(gptOut);
  const gptAgain = modelFromTensors(gptBack.config, gptBack.tensors);
  const gids = [bpe.encode('a stitch in time').slice(0, 8)];
  assert.ok(maxAbsDiff(logitsOf(gptAgain, gids), logitsOf(gpt, gids)) < 1e-5);
  const sample = 'the quick brown fox, 你好世界 123456 <|end|>';
  assert.deepEqual(gptBack.tokenizer.encode(sample), bpe.encode(sample));
  assert.deepEqual(renderChat(gptBack.tokenizer, [{ role: 'user', content: 'hi' }]).ids, renderChat(bpe, [{ role: 'user', content: 'hi' }]).ids);
  for (const m of [gpt, gptAgain]) m.dispose();
});

test('LoRA as a PEFT adapter and the scalar head as ForSequenceClassification are named and shaped as PEFT and transformers write them', { skip }, async () => {
  const imported = await importModel(join(dir, 'llama'));
  const model = modelFromTensors(imported.config, imported.tensors);
  model.addLora({ rank: 4, alpha: 8, targets: ['q', 'v'] });
  model.attachHead();
  const out = join(dir, 'export-peft');
  const res = await exportModel(out, model, imported.tokenizer, { lora: 'peft' });
  assert.equal(res.architecture, 'LlamaForSequenceClassification');
  const adapter = JSON.parse(readFileSync(join(res.adapterDir!, 'adapter_config.json'), 'utf8'));
  assert.equal(adapter.peft_type, 'LORA');
  assert.equal(adapter.r, 4);
  assert.equal(adapter.lora_alpha, 8);
  assert.deepEqual(adapter.target_modules, ['q_proj', 'v_proj']);
  const lora = await readSafetensorsHeader(join(res.adapterDir!, 'adapter_model.safetensors'));
  const shapes = Object.fromEntries(lora.tensors.map((t) => [t.name, t.shape]));
  assert.deepEqual(shapes['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'], [4, 32]);
  assert.deepEqual(shapes['base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'], [16, 4]);
  assert.equal(lora.tensors.length, 2 * 2 * 2);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.num_labels, 1);
  const base = await readSafetensorsHeader(join(out, 'model.safetensors'));
  const score = base.tensors.find((t) => t.name === 'score.weight');
  assert.deepEqual(score?.shape, [1, 32]);
  assert.ok(!base.tensors.some((t) => t.name.includes('lora')), 'the base model holds no adapters');
  model.dispose();
});

function scoresOf(model: CausalLM, ids: number[][]): Float32Array {
  return tf.tidy(() => model.forward(tf.tensor2d(ids, undefined, 'int32'), { head: true }).head!.dataSync() as Float32Array);
}

for (const [name, arch] of [['gpt2-cls', 'GPT2ForSequenceClassification'], ['llama-cls', 'LlamaForSequenceClassification']] as const) {
  test(`${name}: a reward model saved as ${arch} imports with its score head, giving PyTorch's scores within 1e-4`, { skip }, async () => {
    const imported = await importModel(join(dir, name));
    assert.equal(imported.provenance.architecture, arch);
    const model = modelFromTensors(imported.config, imported.tensors);
    assert.ok(model.hasHead);
    const ref = JSON.parse(readFileSync(join(dir, name, 'logits.json'), 'utf8')) as Reference;
    const diff = maxAbsDiff(scoresOf(model, ref.input_ids), ref.logits.flat(2));
    model.dispose();
    assert.ok(diff < 1e-4, `max |Δscore| ${diff}`);
  });
}

test("a Jielong reward model exported as ForSequenceClassification imports back with the same scores, its bias included", { skip }, async () => {
  const imported = await importModel(join(dir, 'qwen2'));
  const model = modelFromTensors(imported.config, imported.tensors);
  model.attachHead();
  tf.tidy(() => {
    model.params['head.w'].assign(tf.randomNormal(model.params['head.w'].shape, 0, 0.5, 'float32', 3));
    model.params['head.b'].assign(tf.tensor1d([0.75]));
  });
  const out = join(dir, 'export-reward');
  assert.equal((await exportModel(out, model, imported.tokenizer)).architecture, 'Qwen2ForSequenceClassification');
  const back = await importModel(out);
  const again = modelFromTensors(back.config, back.tensors);
  const ids = [[3, 17, 250, 99, 4, 42]];
  assert.ok(maxAbsDiff(scoresOf(again, ids), scoresOf(model, ids)) < 1e-5);
  assert.equal(again.params['head.b'].dataSync()[0], 0.75);
  model.dispose();
  again.dispose();
});

test('a classifier with more than one label is refused naming num_labels', { skip }, async () => {
  const two = join(dir, 'cls-two-labels');
  mkdirSync(two, { recursive: true });
  copyFileSync(join(dir, 'gpt2-cls', 'model.safetensors'), join(two, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(dir, 'gpt2-cls', 'config.json'), 'utf8'));
  writeFileSync(join(two, 'config.json'), JSON.stringify({ ...config, num_labels: 2 }));
  await assert.rejects(importModel(two), (e: Error) => e instanceof FormatError && /num_labels 2/.test(e.message));
});

test('an unknown architecture is refused naming itself and the supported ones', { skip }, async () => {
  const bad = join(dir, 'bert');
  mkdirSync(bad, { recursive: true });
  copyFileSync(join(dir, 'gpt2', 'model.safetensors'), join(bad, 'model.safetensors'));
  writeFileSync(join(bad, 'config.json'), JSON.stringify({ architectures: ['BertForMaskedLM'], model_type: 'bert' }));
  await assert.rejects(importModel(bad), (e: Error) => e instanceof FormatError && /BertForMaskedLM/.test(e.message) && /LlamaForCausalLM/.test(e.message));
});

test('jielong-ml import writes a checkpoint with provenance (licence, hashes); export writes a folder that imports back', { skip }, async () => {
  const cli = join(import.meta.dirname, '..', '..', 'packages', 'ml', 'bin', 'jielong-ml.mjs');
  const ck = join(dir, 'ck-qwen2');
  const out = execFileSync(process.execPath, [cli, 'import', '--from', join(dir, 'qwen2'), '--out', ck, '--backend', 'wasm'], { encoding: 'utf8' });
  assert.match(out, /Qwen2ForCausalLM from huggingface/);
  const loaded = await loadCheckpoint(ck);
  assert.equal(loaded.provenance?.sourceFormat, 'huggingface');
  assert.match(loaded.provenance?.licence ?? '', /Test fixture licence/);
  const sha = createHash('sha256').update(readFileSync(join(dir, 'qwen2', 'model.safetensors'))).digest('hex');
  assert.equal(loaded.provenance?.files.find((f) => f.name === 'model.safetensors')?.sha256, sha);
  const ref = JSON.parse(readFileSync(join(dir, 'qwen2', 'logits.json'), 'utf8')) as Reference;
  assert.ok(maxAbsDiff(logitsOf(loaded.model, ref.input_ids), ref.logits.flat(2)) < 1e-4);
  assert.ok(loaded.tokenizer instanceof HfTokenizer, 'the checkpoint keeps the tokenizer.json tokenizer');

  const hfOut = join(dir, 'cli-export');
  assert.match(execFileSync(process.execPath, [cli, 'export', '--model', ck, '--out', hfOut, '--backend', 'wasm'], { encoding: 'utf8' }), /Qwen2ForCausalLM/);
  const back = await importModel(hfOut);
  const again = modelFromTensors(back.config, back.tensors);
  assert.deepEqual(logitsOf(again, ref.input_ids), logitsOf(loaded.model, ref.input_ids));
  const bad = spawnSync(process.execPath, [cli, 'import', '--from', join(dir, 'gpt2', 'config.json'), '--out', join(dir, 'nope'), '--backend', 'wasm'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /in no format we read \(known: huggingface, gguf, llama2c\)/);
  for (const m of [loaded.model, again]) m.dispose();
});

test('stories260K (llama2.c) exports as LlamaForCausalLM with a SentencePiece-style tokenizer.json that gives the same ids and logits', async () => {
  const models = join(import.meta.dirname, '../../../shared/data/models');
  const imported = await importModel(join(models, 'stories260K.bin'), { tokenizerPath: join(models, 'tok512.bin') });
  const model = modelFromTensors(imported.config, imported.tensors);
  const out = join(dir, 'export-stories');
  const res = await exportModel(out, model, imported.tokenizer);
  assert.equal(res.architecture, 'LlamaForCausalLM');
  assert.ok(res.files.includes('tokenizer.json'));
  const back = await importModel(out);
  for (const text of ['Once upon a time, there was a little girl named Lily. She loved to play outside.', '  two  spaces\nand a line', 'émoji 🙂 你好']) {
    const ids = imported.tokenizer.encode(text);
    assert.deepEqual(back.tokenizer.encode(text), ids, text);
    assert.equal(back.tokenizer.decode(ids), imported.tokenizer.decode(ids));
  }
  const again = modelFromTensors(back.config, back.tensors);
  const ids = [imported.tokenizer.encode('Once upon a time', { bos: true })];
  assert.deepEqual(logitsOf(again, ids), logitsOf(model, ids));
  for (const m of [model, again]) m.dispose();
});
