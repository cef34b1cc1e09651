// A Hugging Face tokenizer.json (+ tokenizer_config.json) behind Jielong's Tokenizer interface,
// on @huggingface/tokenizers (pure JS: BPE, WordPiece, Unigram, byte-level, metaspace …), and
// its chat template rendered with @huggingface/jinja, the engine transformers.js uses for the same
// templates.
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './index.ts';

export interface HfTokenizerJSON {
  type: 'hf';
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
}

export interface ChatMessage {
  role: string;
  content: string;
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/** Specials that end a sequence or a turn across the common families (GPT-2, Llama 2/3, Qwen, Phi, Gemma). */
const ENDS_SEQUENCE = /^(<\/s>|<\|(endoftext|end_of_text|im_end|eot_id|eom_id|end)\|>|<end_of_turn>|<eos>)$/i;

/** tokenizer_config.json writes a token as a string or as { content }. */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eotId: number;
  readonly bosId: number;
  readonly stopIds: readonly number[];
  private impl: HfTokenizerImpl;
  private specials = new Map<string, number>();
  private specialIds = new Set<number>();
  private template: Template | null;

  constructor(
    private json: Record<string, unknown>,
    private config: Record<string, unknown> = {},
    /** eos ids from generation_config.json, when the folder has one. */
    private extraStopIds: readonly number[] = [],
  ) {
    this.impl = new HfTokenizerImpl(json, config);
    const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as AddedToken[];
    for (const t of added) {
      if (t.special === false) continue;
      this.specials.set(t.content, t.id);
      this.specialIds.add(t.id);
    }
    let maxId = -1;
    for (const id of this.impl.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (key: string): number | null => {
      const s = tokenString(config[key]);
      return s === null ? null : (this.impl.token_to_id(s) ?? null);
    };
    const eos = idOf('eos_token');
    const firstEnd = [...this.specials].find(([s]) => ENDS_SEQUENCE.test(s))?.[1];
    const eot = eos ?? firstEnd;
    if (eot === undefined) throw new Error('tokenizer: no eos_token in tokenizer_config.json and no end-of-text special token in tokenizer.json');
    this.eotId = eot;
    this.bosId = idOf('bos_token') ?? eot;
    const stops = new Set<number>([eot, ...extraStopIds]);
    for (const [s, id] of this.specials) if (ENDS_SEQUENCE.test(s)) stops.add(id);
    this.stopIds = [...stops];
    const source = typeof config.chat_template === 'string' ? config.chat_template : null;
    this.template = source === null ? null : new Template(source);
  }

  static fromJSON(j: HfTokenizerJSON): HfTokenizer {
    return new HfTokenizer(j.tokenizer, j.config);
  }

  toJSON(): HfTokenizerJSON {
    return { type: 'hf', tokenizer: this.json, config: this.config };
  }

  /** Missing specials go into tokenizer.json's added_tokens after the last id, so they load
   * again with it (here and in transformers). */
  withSpecialTokens(tokens: readonly string[]): HfTokenizer {
    const missing = tokens.filter((t) => !this.specials.has(t));
    if (missing.length === 0) return this;
    const added = (Array.isArray(this.json.added_tokens) ? this.json.added_tokens : []) as AddedToken[];
    const more = missing.map((content, i) => ({ id: this.vocabSize + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
    return new HfTokenizer({ ...this.json, added_tokens: [...added, ...more] }, this.config, this.extraStopIds);
  }

  /** True when tokenizer_config.json carries a chat_template. */
  get hasChatTemplate(): boolean {
    return this.template !== null;
  }

  /**
   * The model's own chat template rendered to text (encode it with allowSpecial). Null when the
   * tokenizer has none, in which case chat code uses Jielong's template.
   */
  chatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string | null {
    if (!this.template) return null;
    return this.template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: tokenString(this.config.bos_token) ?? '',
      eos_token: tokenString(this.config.eos_token) ?? '',
    });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = options.bos ? [this.bosId] : [];
    if (options.allowSpecial || !this.containsSpecial(text)) return ids.concat(this.encodePlain(text));
    // The library always turns special strings into their ids. Without allowSpecial, text that
    // spells one is cut inside it, so "<|im_end|>" typed by a user becomes ordinary tokens.
    let rest = text;
    while (rest) {
      let at = -1;
      let found = '';
      for (const s of this.specials.keys()) {
        const i = rest.indexOf(s);
        if (i >= 0 && (at < 0 || i < at || (i === at && s.length > found.length))) [at, found] = [i, s];
      }
      if (at < 0) {
        ids.push(...this.encodePlain(rest));
        break;
      }
      if (at > 0) ids.push(...this.encodePlain(rest.slice(0, at)));
      ids.push(...this.encodePlain(found.slice(0, 1)), ...this.encodePlain(found.slice(1)));
      rest = rest.slice(at + found.length);
    }
    return ids;
  }

  private containsSpecial(text: string): boolean {
    for (const s of this.specials.keys()) if (text.includes(s)) return true;
    return false;
  }

  private encodePlain(text: string): number[] {
    return text ? this.impl.encode(text, { add_special_tokens: false }).ids : [];
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    return this.impl.decode(Array.from(ids), { skip_special_tokens: options.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  /** Decodes the ids so far each time and emits what is new, holding back a trailing incomplete character. */
  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const ids: number[] = [];
    let emitted = 0;
    return {
      push: (id) => {
        ids.push(id);
        const text = this.decode(ids, options);
        if (text.endsWith('\uFFFD')) return '';
        const out = text.slice(emitted);
        emitted = text.length;
        return out;
      },
      end: () => {
        const text = this.decode(ids, options);
        const out = text.slice(emitted);
        emitted = text.length;
        return out;
      },
    };
  }

  specialId(token: string): number {
    const id = this.specials.get(token);
    if (id === undefined) throw new Error(`tokenizer has no special token ${token}`);
    return id;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }
}
