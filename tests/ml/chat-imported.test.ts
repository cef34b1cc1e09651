// Chat on imported bases: stories260K (llama2.c tokenizer, no chat tokens) gets Jielong's chat
// tokens and grown embeddings without any old logit moving, keeps them through a checkpoint, learns
// to answer and to end its turn from 20 demonstrations with LoRA; a Hugging Face tokenizer with a
// chat template renders turns through it with the loss on the answers only; GPT and untied Llama
// models grow alike.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  answerText, BpeTokenizer, CHAT_TOKENS, chatFormat, chatStopIds, createModel, generate, gptConfig, HfTokenizer, importModel, initBackend, llamaConfig,
  loadCheckpoint, loadTokenizer, modelFromTensors, renderChat, renderPrompt, saveCheckpoint, trainSft, withChatTokens,
  type CausalLM, type ChatTurn, type Tokenizer,
} from '../../packages/ml/src/index.ts';

const MODELS = join(import.meta.dirname, '../../../shared/data/models');
const DEMOS = join(import.meta.dirname, '../../../shared/data/demonstrations/alpaca-bilingual-8k.jsonl');

let base: CausalLM;
let baseTok: Tokenizer;
before(async () => {
  await initBackend('wasm');
  const imported = await importModel(join(MODELS, 'stories260K.bin'), { tokenizerPath: join(MODELS, 'tok512.bin') });
  base = modelFromTensors(imported.config, imported.tensors);
  baseTok = imported.tokenizer;
});

const logits = (model: CausalLM, ids: number[]) => tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), { logits: true }).logits!.arraySync()[0]);

/** Every position's logits of the `old` first ids agree between the two models, to `tol`. */
function assertOldLogits(a: CausalLM, b: CausalLM, ids: number[], old: number, tol = 1e-5): void {
  const [la, lb] = [logits(a, ids), logits(b, ids)];
  la.forEach((row, t) => row.forEach((x, j) => assert.ok(Math.abs(lb[t][j] - x) <= tol, `position ${t}, id ${j}: ${x} became ${lb[t][j]}`)));
  assert.ok(lb.every((row) => row.length > old));
  assert.ok(la.every((row) => row.length === old));
}

/**
 * Runs `check` on tfjs's plain JS kernels. The WASM matrix product blocks by the matrix's width,
 * so a wider LM head changes the rounding of the old logits (by ~4e-6); the JS kernel sums each
 * dot product in the same order at any width, so there the old logits are bit for bit the same.
 */
async function exactly(check: () => void): Promise<void> {
  await tf.setBackend('cpu');
  try {
    check();
  } finally {
    await tf.setBackend('wasm');
  }
}

/** The text under each run of consecutive mask-1 positions. */
function trainedSpans(tok: Tokenizer, ids: number[], mask: number[]): string[] {
  const spans: number[][] = [];
  mask.forEach((m, i) => {
    if (m === 1 && mask[i - 1] !== 1) spans.push([]);
    if (m === 1) spans[spans.length - 1].push(ids[i]);
  });
  return spans.map((span) => tok.decode(span));
}

test('stories260K gets the chat tokens: vocabulary 512 → 516, new rows at the mean, old logits identical, the base untouched', async () => {
  assert.equal(chatFormat(baseTok), 'plain');
  const ready = withChatTokens(base, baseTok);
  try {
    assert.equal(ready.added, 4);
    assert.equal(ready.tokenizer.vocabSize, 516);
    assert.equal(ready.model.config.vocabSize, 516);
    assert.equal(chatFormat(ready.tokenizer), 'jielong');
    assert.deepEqual(CHAT_TOKENS.map((t) => ready.tokenizer.specialId(t)), [512, 513, 514, 515]);
    assert.deepEqual(ready.model.params.wte.shape, [516, 64]);
    assert.deepEqual(base.shapeOf('wte'), [512, 64], 'the imported base is not changed');
    assert.equal(baseTok.vocabSize, 512);
    // The imported base's embedding is frozen outside the heap (on the native kernels): read its values.
    const mean = tf.tidy(() => tf.tensor2d(base.weightValues('wte'), [512, 64]).mean(0).arraySync() as number[]);
    const rows = ready.model.params.wte.arraySync() as number[][];
    for (const r of rows.slice(512)) r.forEach((x, j) => assert.ok(Math.abs(x - mean[j]) < 1e-6));
    // Plain text encodes as before and every old token's logit is exactly what it was.
    const text = 'Once upon a time, there was a little girl named Lily.';
    const ids = baseTok.encode(text, { bos: true });
    assert.deepEqual(ready.tokenizer.encode(text, { bos: true }), ids);
    assert.equal(logits(ready.model, ids)[0].length, 516);
    assertOldLogits(base, ready.model, ids, 512);
    await exactly(() => assertOldLogits(base, ready.model, ids, 512, 0));
    // Rendering through Jielong's template, with llama2.c's BOS first.
    const rendered = renderChat(ready.tokenizer, [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }]);
    assert.equal(rendered.ids[0], 1);
    assert.deepEqual(trainedSpans(ready.tokenizer, rendered.ids, rendered.lossMask), ['Hello.<|end|>']);
    assert.ok(chatStopIds(ready.tokenizer).includes(515));
  } finally {
    ready.model.dispose();
  }
});

test('a checkpoint keeps the grown tokenizer and embedding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jielong-chatbase-'));
  const ready = withChatTokens(base, baseTok);
  try {
    await saveCheckpoint(dir, { model: ready.model, tokenizer: ready.tokenizer });
    const back = await loadCheckpoint(dir);
    try {
      assert.ok(back.tokenizer);
      assert.equal(back.tokenizer.vocabSize, 516);
      assert.equal(back.tokenizer.specialId('<|assistant|>'), 514);
      const turns: ChatTurn[] = [{ role: 'user', content: 'Tell me a story.' }];
      assert.deepEqual(renderPrompt(back.tokenizer, turns), renderPrompt(ready.tokenizer, turns));
      assert.equal(back.tokenizer.decode([514, ...back.tokenizer.encode('Yes')]), '<|assistant|> Yes');
      assert.deepEqual(back.model.params.wte.arraySync(), ready.model.params.wte.arraySync());
    } finally {
      back.model.dispose();
    }
  } finally {
    ready.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SFT with LoRA on 20 demonstrations: the loss falls, answers end at <|end|> and hold no special token', async () => {
  const rows = readFileSync(DEMOS, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { en_instruction: string; en_input: string; en_output: string });
  const data = rows.filter((r) => !r.en_input && r.en_output.length < 80).slice(0, 20).map((r) => ({ prompt: r.en_instruction, answer: r.en_output }));
  assert.equal(data.length, 20);
  // One evaluation, at the end, so the model returned is the trained one.
  const result = await trainSft({
    model: base, tokenizer: baseTok, data,
    config: { lora: { rank: 8, alpha: 16 }, epochs: 20, batchSize: 4, lr: 3e-3, warmupSteps: 2, valFraction: 0.2, evalEvery: 1000, patience: 100 },
  });
  try {
    assert.equal(result.tokenizer.vocabSize, 516);
    assert.equal(base.config.vocabSize, 512);
    const first = result.evals[0];
    assert.ok(first.trainLoss < 1.5, `train loss ${first.trainLoss}`);
    assert.ok(result.bestValLoss < result.baseValLoss, `validation loss ${result.baseValLoss} → ${result.bestValLoss}`);
    const tok = result.tokenizer;
    const end = tok.specialId('<|end|>');
    const specials = [...CHAT_TOKENS, '<s>', '</s>', '<unk>'];
    let ended = 0;
    let verbatim = 0;
    for (const d of data) {
      const [s] = generate(result.model, renderPrompt(tok, [{ role: 'user', content: d.prompt }]), { temperature: 0, maxTokens: 60, stop: chatStopIds(tok) });
      const text = answerText(tok, s.tokens);
      if (s.stopId === end) ended++;
      if (text.trim() === d.answer) verbatim++;
      assert.ok(!s.tokens.some((id) => tok.isSpecial(id)), 'no special id inside an answer');
      for (const sp of specials) assert.ok(!text.includes(sp), `answer ${JSON.stringify(text)} holds ${sp}`);
    }
    assert.ok(ended >= 12, `${ended} of 20 answers ended at <|end|>`);
    assert.ok(verbatim >= 1, 'at least one demonstration comes back word for word'); // 18 and 3 when written
  } finally {
    result.model.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// A tiny byte-level tokenizer.json (no merges) with ChatML specials, made here.

/** GPT-2's byte → printable character table (byte-level BPE vocabularies are written in it). */
function byteChars(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

const CHATML = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function tinyHf(chatTemplate: string | null): HfTokenizer {
  const vocab = Object.fromEntries(byteChars().map((c, b) => [c, b]));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(256, '<|endoftext|>'), special(257, '<|im_start|>'), special(258, '<|im_end|>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
  const config: Record<string, unknown> = { eos_token: '<|im_end|>', bos_token: null, tokenizer_class: 'GPT2Tokenizer' };
  if (chatTemplate) config.chat_template = chatTemplate;
  return new HfTokenizer(json, config);
}

test('a HF tokenizer with a chat template: turns go through the template, the loss covers only the answers and their <|im_end|>', () => {
  const tok = tinyHf(CHATML);
  assert.equal(chatFormat(tok), 'template');
  const turns: ChatTurn[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say <|im_end|> hi' },
    { role: 'assistant', content: 'Hi 你好' },
    { role: 'user', content: 'Again?' },
    { role: 'assistant', content: 'Hi.' },
  ];
  const { ids, lossMask, answerAt } = renderChat(tok, turns);
  assert.equal(tok.decode(ids), tok.chatTemplate(turns));
  assert.deepEqual(trainedSpans(tok, ids, lossMask), ['Hi 你好<|im_end|>', 'Hi.<|im_end|>']);
  // The typed <|im_end|> stays text: the only specials are the template's.
  const [start, end] = [tok.specialId('<|im_start|>'), tok.specialId('<|im_end|>')];
  assert.deepEqual(ids.filter((id) => tok.isSpecial(id)), [start, end, start, end, start, end, start, end, start, end]);
  const last = renderChat(tok, turns, { lastAssistantOnly: true });
  assert.deepEqual(trainedSpans(tok, last.ids, last.lossMask), ['Hi.<|im_end|>']);
  // The generation prompt is the prefix of the conversation with its answer, ending in the header.
  const prompt = renderPrompt(tok, turns.slice(0, 4));
  assert.deepEqual(ids.slice(0, prompt.length), prompt);
  assert.ok(tok.decode(prompt).endsWith('<|im_start|>assistant\n'));
  // The last answer's header is the template text between the previous content and it.
  assert.ok(tok.decode(ids.slice(answerAt)).startsWith('<|im_end|>\n<|im_start|>assistant\nHi.'));
  assert.ok(!tok.isSpecial(ids[answerAt - 1]));
  assert.ok(chatStopIds(tok).includes(end));
  // A tokenizer with a template already has a chat format: nothing is added.
  const model = createModel(llamaConfig({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 8, hiddenSize: 16 }));
  try {
    const ready = withChatTokens(model, tok);
    assert.equal(ready.added, 0);
    assert.equal(ready.model, model);
    assert.equal(ready.tokenizer, tok);
  } finally {
    model.dispose();
  }
});

test('without a template a HF tokenizer gets the chat tokens in tokenizer.json; an untied Llama grows its head too', async () => {
  const tok = tinyHf(null);
  assert.equal(chatFormat(tok), 'plain');
  // Plain continuation for generation; no turns to train on until the tokens are added.
  assert.deepEqual(renderPrompt(tok, [{ role: 'user', content: 'abc' }]), tok.encode('abc', { bos: true }));
  assert.throws(() => renderChat(tok, [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }]), /no chat template and none of Jielong's chat tokens/);
  const model = createModel(llamaConfig({ vocabSize: 259, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 8, hiddenSize: 16, tiedEmbeddings: false }), { seed: 3 });
  const ready = withChatTokens(model, tok);
  try {
    assert.equal(ready.added, 4);
    assert.deepEqual(ready.model.params.wte.shape, [263, 8]);
    assert.deepEqual(ready.model.params['lm_head.w'].shape, [8, 263]);
    const ids = tok.encode('hello there');
    assertOldLogits(model, ready.model, ids, 259);
    await exactly(() => assertOldLogits(model, ready.model, ids, 259, 0));
    const again = loadTokenizer(JSON.parse(JSON.stringify(ready.tokenizer.toJSON())));
    assert.deepEqual(CHAT_TOKENS.map((t) => again.specialId(t)), [259, 260, 261, 262]);
    assert.equal(again.vocabSize, 263);
    const { ids: chat } = renderChat(again, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }]);
    assert.equal(again.decode(chat), '<|user|>hi<|end|><|assistant|>yo<|end|>');
    assert.ok(!again.encode('<|user|>').includes(260), 'typed chat tokens stay text');
  } finally {
    ready.model.dispose();
    model.dispose();
  }
});

test('a GPT whose BPE has only <|endoftext|> grows its tied embedding', async () => {
  const tok = BpeTokenizer.train('the cat sat on the mat. the dog sat on the log.', { vocabSize: 270, specialTokens: ['<|endoftext|>'] });
  assert.equal(chatFormat(tok), 'plain');
  const model = createModel(gptConfig('tiny', { vocabSize: 270, blockSize: 16 }), { seed: 1 });
  const ready = withChatTokens(model, tok);
  try {
    assert.equal(ready.added, 4);
    assert.equal(ready.tokenizer.vocabSize, 274);
    assert.deepEqual(ready.model.params.wte.shape, [274, model.config.nEmbd]);
    assert.equal(chatFormat(ready.tokenizer), 'jielong');
    const ids = tok.encode('the dog sat');
    assertOldLogits(model, ready.model, ids, 270);
    await exactly(() => assertOldLogits(model, ready.model, ids, 270, 0));
    assert.deepEqual(loadTokenizer(ready.tokenizer.toJSON()).encode('<|end|>', { allowSpecial: true }), [273]);
  } finally {
    ready.model.dispose();
    model.dispose();
  }
});
