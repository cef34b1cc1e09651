// Generation speed (new tokens/s) with and without the KV cache, same model, same run:
// `npx tsx bench/generate.ts [--tokens 96] [--n 1]`. The figure without the cache is the anchor.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GPT, backendInfo, generate, initBackend } from '../packages/ml/src/index.ts';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '96' }, n: { type: 'string', default: '1' } } });
const maxTokens = Number(values.tokens);
const n = Number(values.n);

await initBackend();
// Benchmark config A's model (untrained: speed does not depend on the weights).
const model = new GPT({ vocabSize: 2048, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 }, { seed: 1 });
const prompt = Array.from({ length: 16 }, (_, i) => (i * 37) % 2048);

function tokensPerSecond(cache: boolean): number {
  generate(model, prompt, { maxTokens: 4, temperature: 0, cache, n }); // warm-up
  const t = performance.now();
  const out = generate(model, prompt, { maxTokens, temperature: 0, cache, n });
  const produced = out.reduce((s, o) => s + o.tokens.length, 0);
  return (produced * 1000) / (performance.now() - t);
}

const without = tokensPerSecond(false);
const withCache = tokensPerSecond(true);
console.log(`backend: ${backendInfo()}; config A model; prompt 16 tokens, ${maxTokens} new tokens, ${n} answer(s)`);
console.log(`without KV cache: ${without.toFixed(1)} tok/s (anchor)`);
console.log(`with KV cache:    ${withCache.toFixed(1)} tok/s, ratio ${(withCache / without).toFixed(2)}×`);
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out/generate.json'), JSON.stringify({ date: new Date().toISOString(), backend: backendInfo(), maxTokens, n, without, withCache, ratio: withCache / without }, null, 2));
