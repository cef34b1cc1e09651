// Tokenizer benchmark: trains byte-level BPE on 10 MB of English + Chinese (tinyshakespeare and
// zh-classics, repeated), measures compression on held-out text and encode/decode speed.
// Run: npx tsx bench/tokenizer.ts [vocabSize ...]   (default 4096 8192; prints a markdown table)
import { readFileSync } from 'node:fs';
import { BpeTokenizer } from '../packages/ml/src/tokenizers/index.ts';

const TARGET_BYTES = 10 * 1024 * 1024;
const HELD_OUT = 0.05; // the last 5% of each corpus is never seen in training

const data = (name: string) => readFileSync(new URL(`../../shared/data/corpus/${name}`, import.meta.url), 'utf8');
const split = (text: string) => {
  const cut = Math.floor(text.length * (1 - HELD_OUT));
  return { train: text.slice(0, cut), test: text.slice(cut) };
};
const en = split(data('tinyshakespeare.txt'));
const zh = split(data('zh-classics.txt'));
const once = en.train + '\n' + zh.train;
const corpus = Buffer.from(once.repeat(Math.ceil(TARGET_BYTES / Buffer.byteLength(once)))).subarray(0, TARGET_BYTES).toString();

const mb = (text: string) => Buffer.byteLength(text) / 1024 / 1024;
const seconds = (start: number) => (performance.now() - start) / 1000;
const rows: string[] = [];
for (const vocabSize of (process.argv.length > 2 ? process.argv.slice(2) : ['4096', '8192']).map(Number)) {
  let start = performance.now();
  const trained = BpeTokenizer.train(corpus, { vocabSize });
  const trainSeconds = seconds(start);
  const json = JSON.stringify(trained);
  const bytesPerToken = (text: string) => (Buffer.byteLength(text) / trained.encode(text).length).toFixed(2);

  // Speed over a whole corpus with a fresh tokenizer (its chunk cache starts empty).
  const speed = (text: string) => {
    const tok = BpeTokenizer.fromJSON(json);
    start = performance.now();
    const ids = tok.encode(text);
    const encode = mb(text) / seconds(start);
    start = performance.now();
    const back = tok.decode(ids);
    const decode = mb(text) / seconds(start);
    if (back !== text) throw new Error('round trip failed');
    return { encode: encode.toFixed(1), decode: decode.toFixed(0) };
  };
  speed(en.test + zh.test); // warm up the JIT
  const e = speed(en.train);
  const z = speed(zh.train);
  rows.push(
    `| ${vocabSize} | ${trainSeconds.toFixed(1)} s | ${(json.length / 1024).toFixed(0)} KB | ${bytesPerToken(en.test)} | ${bytesPerToken(zh.test)} | ${e.encode} / ${z.encode} MB/s | ${e.decode} / ${z.decode} MB/s |`,
  );
  console.error(rows[rows.length - 1]);
}
console.log(
  `Training text: ${mb(corpus).toFixed(1)} MB (${mb(en.train).toFixed(2)} MB English + ${mb(zh.train).toFixed(2)} MB Chinese, repeated). ` +
    `Held out: the last ${HELD_OUT * 100}% of each corpus (English ${(Buffer.byteLength(en.test) / 1024).toFixed(0)} KB, Chinese ${(Buffer.byteLength(zh.test) / 1024).toFixed(0)} KB). ` +
    `Speed: encoding the English / Chinese training text with a cold chunk cache. Node ${process.version}, one core.\n`,
);
console.log('| vocab | train 10 MB | tokenizer.json | bytes/token EN (held out) | bytes/token ZH (held out) | encode EN / ZH | decode EN / ZH |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
