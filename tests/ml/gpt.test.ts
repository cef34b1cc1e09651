// The GPT model: its gradients are right (finite differences), wasm computes what cpu computes,
// the loss mask, LoRA adapters, the scalar head and the KV cache behave as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GPT, type GPTConfig } from '../../packages/ml/src/index.ts';
import { onBackend, read, relDiff, maxAbsDiff } from './helpers.ts';

const CONFIG: GPTConfig = { vocabSize: 13, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0 };
const X = [[1, 5, 2, 7, 3, 3, 9], [4, 0, 12, 6, 6, 1, 2]];
const Y = [[5, 2, 7, 3, 3, 9, 11], [0, 12, 6, 6, 1, 2, 8]];
const MASK = [[0, 0, 1, 1, 1, 1, 1], [0, 1, 1, 1, 0, 0, 1]];

const batch = () => ({
  x: tf.tensor2d(X, undefined, 'int32'),
  y: tf.tensor2d(Y, undefined, 'int32'),
  mask: tf.tensor2d(MASK),
});

function lossOf(model: GPT): tf.Scalar {
  const { x, y, mask } = batch();
  const out = model.forward(x, { targets: y, mask, head: model.hasHead });
  return out.head ? out.loss!.add(out.head.mean().mul(0.5)) : out.loss!;
}

test('gradients match finite differences on a tiny model', async () => {
  await onBackend('cpu', () => {
    const model = new GPT(CONFIG, { seed: 5 });
    model.attachHead();
    // A zero head would hide its gradient path; give it weights.
    model.params['head.w'].assign(tf.randomNormal([CONFIG.nEmbd, 1], 0, 0.5, 'float32', 3));
    const { grads } = tf.tidy(() => {
      const r = model.gradients(() => lossOf(model));
      return { grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, read(g)])) };
    });
    const eps = 3e-3;
    let checked = 0;
    for (const name of ['wte', 'wpe', 'h.0.ln_1.g', 'h.0.attn.c_attn.w', 'h.1.attn.c_proj.b', 'h.1.mlp.c_fc.w', 'h.1.mlp.c_proj.w', 'ln_f.b', 'head.w']) {
      const p = model.params[name];
      const base = read(p);
      // The entries with the largest analytic gradient, plus the first one.
      const order = grads[name].map((g, i) => [Math.abs(g), i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
      for (const i of new Set([order[0], order[1], 0])) {
        const at = (delta: number) => {
          const v = base.slice();
          v[i] += delta;
          p.assign(tf.tensor(v, p.shape));
          return tf.tidy(() => lossOf(model).dataSync()[0]);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        p.assign(tf.tensor(base, p.shape));
        const analytic = grads[name][i];
        assert.ok(Math.abs(numeric - analytic) < 2e-3 + 0.02 * Math.abs(analytic), `${name}[${i}]: analytic ${analytic} vs numeric ${numeric}`);
        checked++;
      }
    }
    assert.ok(checked >= 18);
    model.dispose();
  });
});

function forwardAndGrads(): { logits: number[]; logProbs: number[]; loss: number; grads: Record<string, number[]> } {
  const model = new GPT(CONFIG, { seed: 11 });
  const res = tf.tidy(() => {
    const { x, y, mask } = batch();
    const out = model.forward(x, { targets: y, mask });
    const { grads } = model.gradients(() => lossOf(model));
    return {
      logits: read(out.logits!),
      logProbs: read(out.logProbs!),
      loss: out.loss!.dataSync()[0],
      grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, read(g)])),
    };
  });
  model.dispose();
  return res;
}

test('wasm matches cpu: logits, log-probs, loss and every gradient', async () => {
  const wasm = await onBackend('wasm', forwardAndGrads);
  const cpu = await onBackend('cpu', forwardAndGrads);
  assert.ok(relDiff(wasm.logits, cpu.logits) < 1e-5);
  assert.ok(relDiff(wasm.logProbs, cpu.logProbs) < 1e-5);
  assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-5);
  for (const name of Object.keys(cpu.grads)) {
    assert.ok(relDiff(wasm.grads[name], cpu.grads[name]) < 1e-4, `${name}: ${relDiff(wasm.grads[name], cpu.grads[name])}`);
  }
});

test('the loss counts only masked-in positions; log-probs are per token', async () => {
  await onBackend('wasm', () => {
    const model = new GPT(CONFIG, { seed: 2 });
    tf.tidy(() => {
      const { x, y, mask } = batch();
      const out = model.forward(x, { targets: y, mask });
      const lp = read(out.logProbs!);
      const m = MASK.flat();
      const expected = -lp.reduce((s, v, i) => s + v * m[i], 0) / m.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(out.loss!.dataSync()[0] - expected) < 1e-5);
      // log p(target) agrees with a log-softmax of the logits.
      const ls = tf.logSoftmax(out.logits!).dataSync();
      const V = CONFIG.vocabSize;
      Y.flat().forEach((t, i) => assert.ok(Math.abs(ls[i * V + t] - lp[i]) < 1e-5));
      // Changing a masked-out target changes nothing.
      const y2 = Y.map((r) => r.slice());
      y2[0][0] = (y2[0][0] + 1) % V;
      const out2 = model.forward(x, { targets: tf.tensor2d(y2, undefined, 'int32'), mask });
      assert.equal(out2.loss!.dataSync()[0], out.loss!.dataSync()[0]);
    });
    model.dispose();
  });
});

test('LoRA: starts as the base model, trains only adapters, merges to the same function', async () => {
  await onBackend('wasm', () => {
    const model = new GPT(CONFIG, { seed: 4 });
    const logits = (m: GPT) => tf.tidy(() => read(m.forward(batch().x).logits!));
    const before = logits(model);
    const baseW = read(model.params['h.0.attn.c_attn.w']);
    model.addLora({ rank: 2, alpha: 4 });
    assert.deepEqual(logits(model), before);
    const names = model.trainableNames();
    assert.equal(names.length, CONFIG.nLayer * 4 * 2);
    assert.ok(names.every((n) => n.includes('.lora_')));
    // A few plain SGD steps on the adapters.
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const { grads } = model.gradients(() => lossOf(model));
        for (const [n, g] of Object.entries(grads)) model.params[n].assign(model.params[n].sub(g.mul(0.5)));
      });
    }
    assert.deepEqual(read(model.params['h.0.attn.c_attn.w']), baseW, 'base weights stay frozen');
    const adapted = logits(model);
    assert.ok(maxAbsDiff(adapted, before) > 1e-4, 'adapters changed the model');
    model.mergeLora();
    assert.equal(model.lora, null);
    assert.ok(!Object.keys(model.params).some((n) => n.includes('lora')));
    assert.ok(maxAbsDiff(logits(model), adapted) < 1e-5);
    model.dispose();
  });
});

test('the KV cache gives the same logits as recomputing the whole sequence', async () => {
  await onBackend('wasm', () => {
    const model = new GPT(CONFIG, { seed: 9 });
    const seq = X[0];
    const full = tf.tidy(() => read(model.forward(tf.tensor2d([seq], undefined, 'int32')).logits!));
    const cache = model.newCache();
    const parts: number[] = [];
    // A 3-token prefill, then one token at a time.
    parts.push(...tf.tidy(() => read(model.forward(tf.tensor2d([seq.slice(0, 3)], undefined, 'int32'), { cache }).logits!)));
    for (let t = 3; t < seq.length; t++) {
      parts.push(...tf.tidy(() => read(model.forward(tf.tensor2d([[seq[t]]], undefined, 'int32'), { cache }).logits!)));
    }
    assert.equal(cache.length, seq.length);
    assert.ok(maxAbsDiff(parts, full) < 1e-5);
    cache.dispose();
    model.dispose();
  });
});

test('the scalar head sees the final hidden states', async () => {
  await onBackend('wasm', () => {
    const model = new GPT(CONFIG, { seed: 1 });
    model.attachHead();
    tf.tidy(() => {
      const out = model.forward(batch().x, { head: true, logits: false });
      assert.deepEqual(out.head!.shape, [2, 7]);
      assert.deepEqual(out.hidden.shape, [2, 7, CONFIG.nEmbd]);
      assert.equal(out.logits, undefined);
      assert.deepEqual(read(out.head!), new Array(14).fill(0), 'zero-initialised head');
    });
    assert.ok(model.trainableNames().includes('head.w'));
    model.dispose();
  });
});
