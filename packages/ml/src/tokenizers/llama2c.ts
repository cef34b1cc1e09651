// SentencePiece BPE as llama2.c runs it (the tokenizer of Llama 2 and of the tinyllamas models):
// pieces with scores, '▁' already turned into ' ', byte fallback through the 256 pieces <0x00>…<0xFF>,
// and the ids <unk> 0, <s> 1 (BOS), </s> 2 (EOS).
//   encode: a leading ' ' (the dummy prefix), one piece per character (bytes for characters that
//           have none), then merge the adjacent pair whose joined piece scores highest, leftmost
//           first, until no pair joins into a piece.
//   decode: the bytes of the pieces as one string, so a character split over byte pieces stays
//           whole; the space a piece starts with is dropped at the start and right after <s>.
// Specials added later (Jielong's chat tokens, see chat-tokens.ts) follow the pieces, as `added`.
// Our own code rather than a library: the npm SentencePiece ports read .model protobufs, not
// llama2.c's tokenizer.bin, and the algorithm is the forty lines below. The file is read by
// formats/llama2c.ts (readLlama2cTokenizer).
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './index.ts';

export interface Llama2cTokenizerJSON {
  type: 'llama2c-sp';
  version: 1;
  /** Longest piece in bytes, as the .bin header states it. */
  maxTokenLength: number;
  /** Piece text by id ('▁' stored as ' ', byte pieces as '<0xXX>'). */
  pieces: string[];
  /** Merge priority by id: higher merges first. */
  scores: number[];
  /** Special tokens appended after the pieces (ids pieces.length, pieces.length + 1, …). */
  added?: string[];
}

/** llama2.c's fixed special ids, with the names they are asked for by. */
const SPECIALS = ['<unk>', '<s>', '</s>'] as const;
const BOS = 1;
const EOS = 2;
const SPACE = 0x20;
const utf8 = new TextEncoder();

export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = BOS;
  readonly eotId = EOS;
  /** llama2.c ends a story on BOS (its training data separates stories with BOS, not EOS); an
   * added <|end|> ends a chat turn. */
  readonly stopIds: readonly number[];
  private readonly pieces: string[];
  private readonly added: string[];
  private readonly specialSplitter: RegExp;
  private readonly scores: number[];
  private readonly maxTokenLength: number;
  private readonly ids = new Map<string, number>();
  private readonly bytesOf: Uint8Array[];
  /** Byte value → id of its <0xXX> piece. */
  private readonly byteIds: number[] = [];
  /** True when no piece has a space past its first character, so words can be merged apart. */
  private readonly wordsIndependent: boolean;
  private readonly cache = new Map<string, number[]>();

  constructor(pieces: string[], scores: number[], maxTokenLength: number, added: string[] = []) {
    if (pieces.length !== scores.length) throw new Error(`llama2c tokenizer: ${pieces.length} pieces but ${scores.length} scores`);
    if (pieces.length <= 258) throw new Error(`llama2c tokenizer: ${pieces.length} pieces cannot hold <unk>, <s>, </s> and 256 byte pieces`);
    const names = [...SPECIALS, ...added];
    if (added.some((t) => typeof t !== 'string' || t === '') || new Set(names).size !== names.length) {
      throw new Error(`llama2c tokenizer: added tokens must be distinct non-empty strings, other than ${SPECIALS.join(' ')}`);
    }
    this.vocabSize = pieces.length + added.length;
    this.pieces = pieces;
    this.added = added;
    const end = added.indexOf('<|end|>');
    this.stopIds = end < 0 ? [EOS, BOS] : [EOS, BOS, pieces.length + end];
    const alternatives = names.sort((x, y) => y.length - x.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.specialSplitter = new RegExp(`(${alternatives.join('|')})`, 'u');
    this.scores = scores;
    this.maxTokenLength = maxTokenLength;
    pieces.forEach((p, id) => {
      if (!this.ids.has(p)) this.ids.set(p, id);
    });
    for (let b = 0; b < 256; b++) {
      const id = this.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id === undefined) throw new Error(`llama2c tokenizer: byte piece <0x${b.toString(16).toUpperCase().padStart(2, '0')}> is missing`);
      this.byteIds.push(id);
    }
    this.bytesOf = pieces.map((p) => utf8.encode(p));
    this.byteIds.forEach((id, b) => (this.bytesOf[id] = Uint8Array.of(b)));
    SPECIALS.forEach((name, id) => (this.bytesOf[id] = utf8.encode(name)));
    for (const name of added) this.bytesOf.push(utf8.encode(name));
    this.wordsIndependent = pieces.every((p, id) => id < SPECIALS.length || p.indexOf(' ', 1) === -1);
  }

  static fromJSON(json: Llama2cTokenizerJSON | string): Llama2cTokenizer {
    const data = (typeof json === 'string' ? JSON.parse(json) : json) as Llama2cTokenizerJSON;
    if (data?.type !== 'llama2c-sp' || data.version !== 1) throw new Error('not a llama2c-sp version 1 tokenizer');
    if (!Array.isArray(data.pieces) || !data.pieces.every((p) => typeof p === 'string')) throw new Error('tokenizer JSON: pieces must be an array of strings');
    if (!Array.isArray(data.scores) || !data.scores.every((s) => typeof s === 'number')) throw new Error('tokenizer JSON: scores must be an array of numbers');
    if (data.added !== undefined && !Array.isArray(data.added)) throw new Error('tokenizer JSON: added must be an array of strings');
    return new Llama2cTokenizer(data.pieces, data.scores, data.maxTokenLength, data.added ?? []);
  }

  toJSON(): Llama2cTokenizerJSON {
    const json: Llama2cTokenizerJSON = { type: 'llama2c-sp', version: 1, maxTokenLength: this.maxTokenLength, pieces: this.pieces.slice(), scores: this.scores.slice() };
    if (this.added.length) json.added = this.added.slice();
    return json;
  }

  withSpecialTokens(tokens: readonly string[]): Llama2cTokenizer {
    const missing = tokens.filter((t) => !SPECIALS.includes(t as (typeof SPECIALS)[number]) && !this.added.includes(t));
    if (missing.length === 0) return this;
    return new Llama2cTokenizer(this.pieces, this.scores, this.maxTokenLength, [...this.added, ...missing]);
  }

  specialId(token: string): number {
    const id = SPECIALS.indexOf(token as (typeof SPECIALS)[number]);
    if (id >= 0) return id;
    const at = this.added.indexOf(token);
    if (at < 0) throw new Error(`tokenizer has no special token ${token}`);
    return this.pieces.length + at;
  }

  isSpecial(id: number): boolean {
    return (id >= 0 && id < SPECIALS.length) || (id >= this.pieces.length && id < this.vocabSize);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out = options.bos ? [BOS] : [];
    if (!options.allowSpecial) {
      this.encodeOrdinary(text, out);
      return out;
    }
    text.split(this.specialSplitter).forEach((part, i) => {
      if (i % 2 === 1) out.push(this.specialId(part));
      else if (part) this.encodeOrdinary(part, out);
    });
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    if (text === '') return;
    const spaced = ' ' + text; // SentencePiece's dummy prefix
    if (!this.wordsIndependent) {
      out.push(...this.merge(spaced));
      return;
    }
    // Every piece's only space is its first character, so no merge crosses a space: words merge
    // alone, give the same ids as the whole text, and repeat often enough to cache.
    for (const word of spaced.split(/(?= )/)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.merge(word);
        if (this.cache.size < 100_000) this.cache.set(word, ids);
      }
      out.push(...ids);
    }
  }

  /** One piece per character (or its bytes), then the highest-scoring merges, leftmost first. */
  private merge(text: string): number[] {
    const ids: number[] = [];
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id !== undefined && id >= SPECIALS.length) ids.push(id);
      else for (const b of utf8.encode(ch)) ids.push(this.byteIds[b]);
    }
    for (;;) {
      let best = -Infinity;
      let at = -1;
      let joined = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const id = this.ids.get(this.pieces[ids[i]] + this.pieces[ids[i + 1]]);
        if (id !== undefined && this.scores[id] > best) {
          best = this.scores[id];
          at = i;
          joined = id;
        }
      }
      if (at < 0) return ids;
      ids.splice(at, 2, joined);
    }
  }

  /** The bytes id stands for in decoded text; `atStart` (first, or right after <s>) drops the
   * dummy-prefix space, except from the byte piece <0x20>, which is a real space. */
  private pieceBytes(id: number, atStart: boolean): Uint8Array {
    const bytes = this.bytesOf[id];
    if (bytes === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return atStart && bytes[0] === SPACE && id !== this.byteIds[SPACE] ? bytes.subarray(1) : bytes;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const stream = this.streamDecoder(options);
    let text = '';
    for (let i = 0; i < ids.length; i++) text += stream.push(ids[i]);
    return text + stream.end();
  }

  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const decoder = new TextDecoder('utf-8');
    let atStart = true;
    return {
      push: (id) => {
        const bytes = this.pieceBytes(id, atStart);
        atStart = id === BOS;
        return options.skipSpecial && this.isSpecial(id) ? '' : decoder.decode(bytes, { stream: true });
      },
      end: () => decoder.decode(),
    };
  }
}
