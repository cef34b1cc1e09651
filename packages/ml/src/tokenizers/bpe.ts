// Byte-level BPE tokenizer (GPT-2 style): the base vocabulary is the 256 byte values, so any
// UTF-8 text round-trips; merges are learned on our own corpora; special tokens sit at the end.
//
// Why our own code rather than a library: the npm `tokenizers` package can train BPE, but it is
// a native Rust addon shipped as per-platform prebuilt binaries whose Node-version support lags
// (a risk for CI and the worker image), its API is asynchronous, and matching our pre-tokenizer
// (Han runs as chunks) and special-token rules would mean configuring and pinning its JSON
// format; `js-tiktoken/lite` only encodes with given merges and cannot train. Byte-level BPE
// training with incremental pair counts is a few hundred lines, so one pure-TypeScript file gives
// training, encoding and a JSON format we control, with no install step, identical in the worker
// and in tests, and fast enough (10 MB trains in seconds; see docs/benchmarks.md).

import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './index.ts';

/**
 * Pre-tokenizer: text is cut into chunks and merges never cross a chunk boundary.
 * Like GPT-2 (contractions, letter runs, digits, punctuation, whitespace with the space kept in
 * front of the next word), plus: every run of Han characters is its own chunk so Chinese (which
 * has no spaces) still learns multi-character tokens without gluing onto Latin words, combining
 * marks stay with their letters, and numbers are cut in groups of at most three digits.
 */
export const PRETOKENIZE_PATTERN = String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{Script=Han}+| ?(?:(?!\p{Script=Han})[\p{L}\p{M}])+| ?\p{N}{1,3}| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+`;

export const ENDOFTEXT = '<|endoftext|>';
/** Specials every Jielong tokenizer carries: end of text, then the chat-turn markers of chat.ts. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [
  ENDOFTEXT,
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|end|>',
];

export interface TrainOptions {
  /** Total vocabulary: 256 bytes + learned merges + special tokens. */
  vocabSize: number;
  /** Defaults to DEFAULT_SPECIAL_TOKENS; the first one is the end-of-text token. */
  specialTokens?: readonly string[];
  /** Called now and then with the number of merges learned so far. */
  onProgress?: (merges: number, totalMerges: number) => void;
}

export interface BpeTokenizerJSON {
  type: 'jielong-bpe';
  version: 1;
  vocabSize: number;
  pattern: string;
  /** Merge i joins the pair [left, right] into token 256 + i; lower index = applied first. */
  merges: [number, number][];
  /** Special token string → id (ids follow the merges). */
  specialTokens: Record<string, number>;
}

const BYTES = 256;
/** The special that closes a chat turn (chat.ts's END_OF_TURN); it ends a generation too. */
const END_OF_TURN = '<|end|>';
/** Heap entries in ChunkMerger are rank * 2^32 + position: ordered by rank, then position. */
const POS = 2 ** 32;
const ENCODE_CACHE_LIMIT = 100_000;
const utf8 = new TextEncoder();

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eotId: number;
  /** GPT-2's convention: <|endoftext|> also opens a document. */
  readonly bosId: number;
  readonly stopIds: readonly number[];
  readonly merges: readonly (readonly [number, number])[];
  private readonly pattern: string;
  private readonly splitter: RegExp;
  private readonly specialIds: Map<string, number>;
  private readonly specialSplitter: RegExp;
  /** pair key (left * vocabSize + right) → merge rank */
  private readonly ranks = new Map<number, number>();
  private readonly bytesOf: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();
  private readonly merger: ChunkMerger;

  private constructor(merges: [number, number][], specialTokens: readonly string[], pattern: string) {
    checkSpecialTokens(specialTokens);
    this.merges = merges;
    this.vocabSize = BYTES + merges.length + specialTokens.length;
    this.pattern = pattern;
    this.splitter = new RegExp(pattern, 'gu');
    for (let b = 0; b < BYTES; b++) this.bytesOf.push(Uint8Array.of(b));
    merges.forEach(([a, b], rank) => {
      const id = BYTES + rank;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id)) {
        throw new Error(`merge ${rank} refers to a token that does not exist yet: [${a}, ${b}]`);
      }
      const key = a * this.vocabSize + b;
      if (this.ranks.has(key)) throw new Error(`merge ${rank} repeats pair [${a}, ${b}]`);
      this.ranks.set(key, rank);
      const joined = new Uint8Array(this.bytesOf[a].length + this.bytesOf[b].length);
      joined.set(this.bytesOf[a]);
      joined.set(this.bytesOf[b], this.bytesOf[a].length);
      this.bytesOf.push(joined);
    });
    this.merger = new ChunkMerger(this.ranks, this.vocabSize);
    this.specialIds = new Map(specialTokens.map((s, i) => [s, BYTES + merges.length + i]));
    for (const s of specialTokens) this.bytesOf.push(utf8.encode(s));
    this.eotId = this.specialIds.get(specialTokens[0])!;
    this.bosId = this.eotId;
    const end = this.specialIds.get(END_OF_TURN);
    this.stopIds = end === undefined ? [this.eotId] : [this.eotId, end];
    // Longest first so a special that is a prefix of another cannot shadow it.
    const alternatives = [...specialTokens].sort((x, y) => y.length - x.length).map(escapeRegExp);
    this.specialSplitter = new RegExp(`(${alternatives.join('|')})`, 'u');
  }

  /**
   * Learns `vocabSize - 256 - specials` merges from the corpus (one string or many documents;
   * merges never span documents or pre-tokenizer chunks). Deterministic: ties between equally
   * frequent pairs go to the smaller (left, right) ids.
   */
  static train(corpus: string | Iterable<string>, options: TrainOptions): BpeTokenizer {
    const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
    checkSpecialTokens(specials); // before the training work, not after it
    const totalMerges = options.vocabSize - BYTES - specials.length;
    if (!Number.isInteger(options.vocabSize) || totalMerges < 0) {
      throw new Error(`vocabSize must be an integer of at least ${BYTES + specials.length} (256 bytes + ${specials.length} specials), got ${options.vocabSize}`);
    }
    const chunkCounts = new Map<string, number>();
    const splitter = new RegExp(PRETOKENIZE_PATTERN, 'gu');
    for (const doc of typeof corpus === 'string' ? [corpus] : corpus) {
      for (const chunk of splitChunks(doc, splitter)) chunkCounts.set(chunk, (chunkCounts.get(chunk) ?? 0) + 1);
    }
    const merges = learnMerges(chunkCounts, totalMerges, options.vocabSize, options.onProgress);
    return new BpeTokenizer(merges, specials, PRETOKENIZE_PATTERN);
  }

  static fromJSON(json: BpeTokenizerJSON | string): BpeTokenizer {
    const data = (typeof json === 'string' ? JSON.parse(json) : json) as BpeTokenizerJSON;
    if (data?.type !== 'jielong-bpe' || data.version !== 1) throw new Error('not a jielong-bpe version 1 tokenizer');
    if (!Array.isArray(data.merges) || !data.merges.every((m) => Array.isArray(m) && m.length === 2)) {
      throw new Error('tokenizer JSON: merges must be an array of [left, right] id pairs');
    }
    if (typeof data.pattern !== 'string' || data.pattern === '') throw new Error('tokenizer JSON: pattern must be a non-empty string');
    const specials = Object.entries(data.specialTokens ?? {}).sort((x, y) => x[1] - y[1]);
    specials.forEach(([s, id], i) => {
      if (id !== BYTES + data.merges.length + i) throw new Error(`tokenizer JSON: special token ${s} has id ${id}, expected ${BYTES + data.merges.length + i}`);
    });
    const tokenizer = new BpeTokenizer(data.merges, specials.map(([s]) => s), data.pattern);
    if (tokenizer.vocabSize !== data.vocabSize) throw new Error(`tokenizer JSON: vocabSize ${data.vocabSize} does not match ${tokenizer.vocabSize} tokens`);
    return tokenizer;
  }

  toJSON(): BpeTokenizerJSON {
    return {
      type: 'jielong-bpe',
      version: 1,
      vocabSize: this.vocabSize,
      pattern: this.pattern,
      merges: this.merges.map(([a, b]) => [a, b]),
      specialTokens: Object.fromEntries(this.specialIds),
    };
  }

  get specialTokens(): string[] {
    return [...this.specialIds.keys()];
  }

  /** This tokenizer with the given specials appended after its own (itself when it has them all). */
  withSpecialTokens(tokens: readonly string[]): BpeTokenizer {
    const missing = tokens.filter((t) => !this.specialIds.has(t));
    if (missing.length === 0) return this;
    return new BpeTokenizer(this.merges.map(([a, b]) => [a, b]), [...this.specialIds.keys(), ...missing], this.pattern);
  }

  /** Id of a special token such as '<|user|>'; throws if this tokenizer lacks it. */
  specialId(token: string): number {
    const id = this.specialIds.get(token);
    if (id === undefined) throw new Error(`tokenizer has no special token ${token}`);
    return id;
  }

  isSpecial(id: number): boolean {
    return id >= this.vocabSize - this.specialIds.size && id < this.vocabSize;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = options.bos ? [this.bosId] : [];
    if (!options.allowSpecial) {
      this.encodeOrdinary(text, ids);
      return ids;
    }
    // split() with a capturing group keeps the specials at odd indices.
    text.split(this.specialSplitter).forEach((part, i) => {
      if (i % 2 === 1) ids.push(this.specialIds.get(part)!);
      else this.encodeOrdinary(part, ids);
    });
    return ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const keep = (id: number) => !(options.skipSpecial && this.isSpecial(id));
    let length = 0;
    for (let i = 0; i < ids.length; i++) if (keep(ids[i])) length += this.tokenBytes(ids[i]).length;
    const all = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      if (!keep(ids[i])) continue;
      const bytes = this.bytesOf[ids[i]];
      all.set(bytes, offset);
      offset += bytes.length;
    }
    // Non-fatal: a sequence cut mid-character decodes to U+FFFD instead of throwing.
    return new TextDecoder('utf-8').decode(all);
  }

  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const decoder = new TextDecoder('utf-8');
    return {
      push: (id) => (options.skipSpecial && this.isSpecial(id) ? '' : decoder.decode(this.tokenBytes(id), { stream: true })),
      end: () => decoder.decode(),
    };
  }

  /** The bytes a token stands for (specials: the UTF-8 of their text). */
  tokenBytes(id: number): Uint8Array {
    const bytes = this.bytesOf[id];
    if (bytes === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return bytes;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const chunk of splitChunks(text, this.splitter)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.merger.merge(chunk);
        if (this.cache.size >= ENCODE_CACHE_LIMIT) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
  }
}

/**
 * Applies merges by rank to one chunk: a min-heap of (rank, position) over a linked list of
 * tokens, so even a pathological chunk (a megabyte without punctuation) costs O(n log n).
 * Popping equal ranks leftmost-first gives the usual left-to-right, non-overlapping merge.
 * Buffers are reused across chunks (encoding is synchronous, never re-entered).
 */
class ChunkMerger {
  private bytes = new Uint8Array(0);
  private tok = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private heap = new Float64Array(0); // n - 1 initial pairs + at most 2 per merge < 3n entries
  private heapSize = 0;
  private n = 0;

  constructor(
    private readonly ranks: Map<number, number>,
    private readonly vocabSize: number,
  ) {}

  merge(chunk: string): number[] {
    this.reserve(chunk.length * 3); // UTF-8 needs at most 3 bytes per UTF-16 code unit
    const n = (this.n = utf8.encodeInto(chunk, this.bytes).written);
    if (n < 2) return Array.from(this.bytes.subarray(0, n));
    const { tok, next, prev } = this;
    for (let i = 0; i < n; i++) {
      tok[i] = this.bytes[i];
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    this.heapSize = 0;
    for (let i = 0; i < n - 1; i++) this.pushPair(i);
    while (this.heapSize > 0) {
      const entry = this.pop();
      const rank = Math.floor(entry / POS);
      const i = entry - rank * POS;
      const j = next[i];
      // Stale entry: the left token was merged away or the pair at i has changed since.
      if (tok[i] < 0 || j >= n || this.ranks.get(tok[i] * this.vocabSize + tok[j]) !== rank) continue;
      tok[i] = BYTES + rank;
      tok[j] = -1;
      next[i] = next[j];
      if (next[j] < n) prev[next[j]] = i;
      this.pushPair(prev[i]);
      this.pushPair(i);
    }
    const ids: number[] = [];
    for (let i = 0; i < n; i = next[i]) ids.push(tok[i]);
    return ids;
  }

  private reserve(n: number): void {
    if (n <= this.bytes.length) return;
    const size = Math.max(n, 2 * this.bytes.length, 256);
    this.bytes = new Uint8Array(size);
    this.tok = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.heap = new Float64Array(3 * size);
  }

  /** Queues the pair starting at position i, if it is a known merge. */
  private pushPair(i: number): void {
    if (i < 0 || this.next[i] >= this.n) return;
    const rank = this.ranks.get(this.tok[i] * this.vocabSize + this.tok[this.next[i]]);
    if (rank === undefined) return;
    const heap = this.heap;
    const x = rank * POS + i;
    let c = this.heapSize++;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (heap[p] <= x) break;
      heap[c] = heap[p];
      c = p;
    }
    heap[c] = x;
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const size = --this.heapSize;
    const last = heap[size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heap[c + 1] < heap[c]) c++;
      if (heap[c] >= last) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
    return top;
  }
}

/** Pre-tokenizer chunks; any text the pattern skips is kept as its own chunk (never dropped). */
function* splitChunks(text: string, splitter: RegExp): Generator<string> {
  splitter.lastIndex = 0;
  let last = 0;
  for (let m = splitter.exec(text); m !== null; m = splitter.exec(text)) {
    if (m.index > last) {
      yield text.slice(last, m.index);
      last = m.index;
    }
    if (m[0].length === 0) {
      splitter.lastIndex++;
      continue;
    }
    yield m[0];
    last = m.index + m[0].length;
  }
  if (last < text.length) yield text.slice(last);
}

/**
 * The BPE training loop. Each distinct chunk is a "word" weighted by its count. Pair counts are
 * kept incrementally: merging (a, b) → z only visits the words that contain the pair (found
 * through `where`) and adjusts the counts of the neighbouring pairs. A max-heap of (count, pair)
 * picks the next merge; counts of existing pairs only ever fall, so a popped entry whose count
 * is out of date is simply pushed back with its current count.
 */
function learnMerges(
  chunkCounts: Map<string, number>,
  totalMerges: number,
  vocabSize: number,
  onProgress?: (merges: number, totalMerges: number) => void,
): [number, number][] {
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [chunk, count] of chunkCounts) {
    const bytes = utf8.encode(chunk);
    if (bytes.length < 2) continue; // a single byte can never take part in a merge
    words.push(Array.from(bytes));
    freq.push(count);
  }
  const keyOf = (a: number, b: number) => a * vocabSize + b;
  const pairCount = new Map<number, number>();
  // pair → words that contain (or once contained) it; duplicates and stale entries are tolerated.
  const where = new Map<number, number[]>();
  words.forEach((word, w) => {
    for (let i = 0; i < word.length - 1; i++) {
      const key = keyOf(word[i], word[i + 1]);
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[w]);
      const list = where.get(key);
      if (list === undefined) where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: [number, number][] = [];
  const visited = new Int32Array(words.length).fill(-1);
  const progressEvery = Math.max(1, Math.floor(totalMerges / 100));
  while (merges.length < totalMerges) {
    if (heap.size === 0) {
      throw new Error(`corpus too small: it allows only ${merges.length} merges but vocabSize ${vocabSize} needs ${totalMerges}`);
    }
    const { count, key } = heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (current !== count) {
      if (current > 0) heap.push(current, key);
      continue;
    }
    const a = Math.floor(key / vocabSize);
    const b = key - a * vocabSize;
    const z = BYTES + merges.length;
    merges.push([a, b]);
    const touched = new Set<number>();
    const add = (x: number, y: number, delta: number, w: number) => {
      const k = keyOf(x, y);
      pairCount.set(k, (pairCount.get(k) ?? 0) + delta);
      if (delta > 0) {
        touched.add(k);
        const list = where.get(k);
        if (list === undefined) where.set(k, [w]);
        else if (list[list.length - 1] !== w) list.push(w);
      }
    };
    for (const w of where.get(key)!) {
      if (visited[w] === z) continue;
      visited[w] = z;
      const word = words[w];
      const f = freq[w];
      const merged: number[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          if (merged.length > 0) {
            const left = merged[merged.length - 1];
            add(left, a, -f, w);
            add(left, z, f, w);
          }
          if (i + 2 < word.length) {
            add(b, word[i + 2], -f, w);
            add(z, word[i + 2], f, w);
          }
          merged.push(z);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      words[w] = merged;
    }
    pairCount.delete(key);
    where.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(c, k);
      else pairCount.delete(k);
    }
    if (onProgress && (merges.length % progressEvery === 0 || merges.length === totalMerges)) onProgress(merges.length, totalMerges);
  }
  return merges;
}

/** Max-heap of (count, pair key): highest count first, then smallest key (for determinism). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }
  push(count: number, key: number): void {
    const { counts, keys } = this;
    let i = counts.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(count, key, counts[p], keys[p])) break;
      counts[i] = counts[p];
      keys[i] = keys[p];
      i = p;
    }
    counts[i] = count;
    keys[i] = key;
  }
  pop(): { count: number; key: number } {
    const { counts, keys } = this;
    const top = { count: counts[0], key: keys[0] };
    const lastCount = counts.pop()!;
    const lastKey = keys.pop()!;
    const n = counts.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.before(counts[c + 1], keys[c + 1], counts[c], keys[c])) c++;
        if (!this.before(counts[c], keys[c], lastCount, lastKey)) break;
        counts[i] = counts[c];
        keys[i] = keys[c];
        i = c;
      }
      counts[i] = lastCount;
      keys[i] = lastKey;
    }
    return top;
  }
}

function checkSpecialTokens(specialTokens: readonly string[]): void {
  if (specialTokens.length === 0) throw new Error('a tokenizer needs at least the end-of-text special token');
  if (specialTokens.some((s) => typeof s !== 'string' || s === '')) throw new Error('special tokens must be non-empty strings');
  if (new Set(specialTokens).size !== specialTokens.length) throw new Error('special tokens must be distinct');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
