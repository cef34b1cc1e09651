// llama2.c's formats: the tokenizer matches the numpy reference and round-trips text; truncated or
// mis-sized files are refused with what is wrong; and the CLI, as a real process, imports
// stories260K into a checkpoint (with provenance) whose greedy sample is the reference's text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, readLlama2c, readLlama2cHeader, readLlama2cTokenizer } from '../../packages/ml/src/index.ts';

const MODELS = join(import.meta.dirname, '../../../shared/data/models');
const CLI = join(import.meta.dirname, '../../packages/ml/bin/jielong-ml.mjs');
const modelBytes = readFileSync(join(MODELS, 'stories260K.bin'));
const tokBytes = readFileSync(join(MODELS, 'tok512.bin'));
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/stories260K-greedy.json'), 'utf8')) as { ids: number[]; text: string; textIds: number[] };

test('the header gives the stories260K sizes and the tensors fill the file exactly', () => {
  const { header, tensors } = readLlama2cHeader(modelBytes);
  assert.deepEqual(header, { dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, shared: true, seqLen: 512 });
  const last = tensors.at(-1)!;
  assert.equal(last.offset + last.byteLength, modelBytes.byteLength);
  const { config, tensors: ours } = readLlama2c(modelBytes);
  assert.equal(config.tiedEmbeddings, true);
  assert.deepEqual(ours['h.0.attn.k.w'].length, 64 * 32);
  assert.ok(!('lm_head.w' in ours));
});

test('truncated, padded and nonsensical model files are refused, naming what is wrong', () => {
  assert.throws(() => readLlama2c(modelBytes.subarray(0, 20)), /file is 20 bytes, shorter than its 28-byte header/);
  assert.throws(() => readLlama2c(modelBytes.subarray(0, 500_000)), /file is 500000 bytes but its header \(dim 64, .*\) implies 1056540; it ends inside tensor w1/);
  assert.throws(() => readLlama2c(Buffer.concat([modelBytes, Buffer.alloc(8)])), /8 bytes are left over after the last tensor/);
  const badKv = Buffer.from(modelBytes);
  badKv.writeInt32LE(3, 16);
  assert.throws(() => readLlama2c(badKv), /n_heads 8 is not a multiple of n_kv_heads 3/);
  const zeroDim = Buffer.from(modelBytes);
  zeroDim.writeInt32LE(0, 0);
  assert.throws(() => readLlama2c(zeroDim), /header field dim is 0, expected a positive size/);
  const unshared = Buffer.from(modelBytes);
  unshared.writeInt32LE(-512, 20); // says the classifier follows, but the file has none
  assert.throws(() => readLlama2c(unshared), /ends inside tensor wcls/);
});

test('truncated or mismatched tokenizer files are refused, naming the piece', () => {
  assert.throws(() => readLlama2cTokenizer(tokBytes.subarray(0, 2)), /too short for max_token_length/);
  assert.throws(() => readLlama2cTokenizer(tokBytes.subarray(0, tokBytes.byteLength - 3)), /piece 511 needs \d+ bytes but the file ends after/);
  assert.throws(() => readLlama2cTokenizer(tokBytes, 32000), /holds 512 pieces but the model's vocab_size is 32000/);
});

test("the tokenizer gives the reference's ids for the reference text, and round-trips any text", () => {
  const tok = readLlama2cTokenizer(tokBytes, 512);
  assert.deepEqual(tok.encode(fixture.text, { bos: true }), fixture.textIds);
  assert.equal(tok.decode([1, ...fixture.ids], { skipSpecial: true }), fixture.text);
  assert.equal(tok.decode(fixture.ids), fixture.text, 'the dummy-prefix space is dropped at the start too');
  // Characters outside the 512 pieces go through the <0xXX> byte pieces and come back whole.
  for (const text of ['Lily said: "hi!"\n\tand left.', '你好，世界', 'café 🙂 naïve', '  two leading spaces']) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text);
    const stream = tok.streamDecoder();
    assert.equal(ids.map((id) => stream.push(id)).join('') + stream.end(), text, 'streamed pieces keep split characters whole');
  }
  const [space, ...bytes] = tok.encode('你'); // the dummy-prefix space, then 你's three UTF-8 bytes
  assert.equal(tok.decode([1, space, 1], { skipSpecial: true }), '', 'the space after <s> is the dummy prefix');
  assert.deepEqual(bytes, [0xe4, 0xbd, 0xa0].map((b) => b + 3), 'byte fallback');
  assert.deepEqual([tok.bosId, tok.eotId, tok.specialId('</s>')], [1, 2, 2]);
  assert.deepEqual(tok.encode('<s>hi</s>', { allowSpecial: true }).filter((id) => id < 3), [1, 2]);
  assert.ok(!tok.encode('<s>hi</s>').includes(1), 'user text cannot forge specials');
  // Stored in a checkpoint's tokenizer.json and rebuilt by type.
  const back = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(back.encode(fixture.text, { bos: true }), fixture.textIds);
  assert.throws(() => loadTokenizer({ type: 'nope' }), /unknown type "nope" \(expected jielong-bpe, llama2c-sp, hf\)/);
});

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('the CLI imports stories260K and greedy sampling from BOS prints the reference text, with and without the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-import-'));
  try {
    const out = join(dir, 'stories');
    const imp = cli('import', '--from', join(MODELS, 'stories260K.bin'), '--tokenizer', join(MODELS, 'tok512.bin'), '--out', out, '--backend', 'wasm');
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, /llama from llama2c, 260,032 parameters, vocabulary 512/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(config.model.family, 'llama');
    assert.deepEqual(config.provenance, {
      sourceFormat: 'llama2c',
      architecture: 'llama',
      files: [
        { role: 'model', name: 'stories260K.bin', bytes: 1_056_540, sha256: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696' },
        { role: 'tokenizer', name: 'tok512.bin', bytes: 6_227, sha256: '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312' },
      ],
    });
    assert.equal(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')).type, 'llama2c-sp');
    for (const extra of [[], ['--no-cache']]) {
      const s = cli('sample', '--model', out, '--prompt', '', '--temperature', '0', '--max-tokens', '120', '--backend', 'wasm', ...extra);
      assert.equal(s.status, 0, s.stderr);
      assert.equal(s.stdout, fixture.text + '\n');
    }
    // A prompt is continued, and printed as typed.
    const p = cli('sample', '--model', out, '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '8', '--backend', 'wasm');
    assert.equal(p.status, 0, p.stderr);
    assert.ok(p.stdout.startsWith('Once upon a time, there was a little girl'), p.stdout);

    writeFileSync(join(dir, 'cut.bin'), modelBytes.subarray(0, 200_000));
    const bad = cli('import', '--from', join(dir, 'cut.bin'), '--tokenizer', join(MODELS, 'tok512.bin'), '--out', join(dir, 'bad'), '--backend', 'wasm');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /file is 200000 bytes but its header .* implies 1056540; it ends inside tensor wq/);
    const noTok = cli('import', '--from', join(MODELS, 'stories260K.bin'), '--out', join(dir, 'bad'), '--backend', 'wasm');
    assert.equal(noTok.status, 1);
    assert.match(noTok.stderr, /llama2.c models carry no vocabulary: give its tokenizer.bin with --tokenizer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
