/**
 * The Tokenizer interface every tokenizer implements (Jielong's byte-level BPE, llama2.c's
 * SentencePiece BPE, and imported ones), and `loadTokenizer`, which rebuilds one from the JSON a
 * checkpoint stores (tokenizer.json, told apart by its `type`). Trainers, sampling, the chat
 * template and the worker use only this interface.
 */
import { BpeTokenizer, type BpeTokenizerJSON } from './bpe.ts';
import { HfTokenizer, type HfTokenizerJSON } from './hf.ts';
import { Llama2cTokenizer, type Llama2cTokenizerJSON } from './llama2c.ts';

export * from './bpe.ts';
export * from './llama2c.ts';
export * from './hf.ts';
export * from './to-hf.ts';

export interface EncodeOptions {
  /** Turn special-token strings in the text into their ids. Off by default so user text can
   * never forge a chat turn or an end of text. */
  allowSpecial?: boolean;
  /** Put the beginning-of-sequence token (bosId) first. */
  bos?: boolean;
}

export interface DecodeOptions {
  skipSpecial?: boolean;
}

/** Decodes a stream of ids (e.g. while sampling) and holds back incomplete UTF-8 sequences. */
export interface StreamDecoder {
  push(id: number): string;
  /** Flushes what is held back (an unfinished character becomes U+FFFD). */
  end(): string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  /** End of text: closes a document and pads batches. */
  readonly eotId: number;
  /** What a sequence starts with when there is no prompt (GPT-style tokenizers: eotId). */
  readonly bosId: number;
  /** Every special id that ends a sequence; generation stops on any of them. */
  readonly stopIds: readonly number[];
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  streamDecoder(options?: DecodeOptions): StreamDecoder;
  /** Id of a special token such as '<|user|>'; throws if this tokenizer lacks it. */
  specialId(token: string): number;
  isSpecial(id: number): boolean;
  /** This tokenizer with the given special tokens appended at the end of its vocabulary (those it
   * has already are kept where they are); itself when nothing is missing. Its toJSON() keeps them. */
  withSpecialTokens(tokens: readonly string[]): Tokenizer;
  /** What tokenizer.json holds; `type` picks the loader in TOKENIZER_TYPES. */
  toJSON(): { type: string };
  /** The model's own chat template rendered to text (imported tokenizers that carry one); absent
   * or null means chat.ts's Jielong template applies. */
  chatTemplate?(messages: readonly { role: string; content: string }[], options?: { addGenerationPrompt?: boolean }): string | null;
}

const TOKENIZER_TYPES: Record<string, (json: never) => Tokenizer> = {
  'jielong-bpe': (json: BpeTokenizerJSON) => BpeTokenizer.fromJSON(json),
  'llama2c-sp': (json: Llama2cTokenizerJSON) => Llama2cTokenizer.fromJSON(json),
  hf: (json: HfTokenizerJSON) => HfTokenizer.fromJSON(json),
};

/** Rebuilds a tokenizer from its toJSON() output, whichever kind it is. */
export function loadTokenizer(json: unknown): Tokenizer {
  const type = (json as { type?: unknown } | null)?.type;
  const load = typeof type === 'string' && Object.hasOwn(TOKENIZER_TYPES, type) ? TOKENIZER_TYPES[type] : undefined;
  if (!load) throw new Error(`tokenizer JSON: unknown type ${JSON.stringify(type)} (expected ${Object.keys(TOKENIZER_TYPES).join(', ')})`);
  return load(json as never);
}
