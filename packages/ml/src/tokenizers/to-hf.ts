// Jielong's tokenizers written as Hugging Face tokenizer.json + tokenizer_config.json, so an
// exported model folder carries a tokenizer transformers (and tokenizers/index.ts's HfTokenizer)
// loads with the same ids: imported ones as they came, Jielong's byte-level BPE, and llama2.c's
// SentencePiece BPE in the layout HF's Llama tokenizers use.
import { HfTokenizer } from './hf.ts';
import type { BpeTokenizerJSON } from './bpe.ts';
import type { Llama2cTokenizerJSON } from './llama2c.ts';
import type { Tokenizer } from './index.ts';

export interface HfTokenizerFiles {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep(b) ? b : 256 + n++);
  return out;
}

const addedToken = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/**
 * Jielong's byte-level BPE: its pre-tokenizer regex as a Split, then ByteLevel without GPT-2's
 * regex; the vocabulary in GPT-2's byte characters; its specials as added tokens.
 */
export function bpeToTokenizerJson(bpe: BpeTokenizerJSON): Record<string, unknown> {
  const b2u = bytesToUnicode();
  const strings: string[] = [...b2u];
  const vocab: Record<string, number> = {};
  b2u.forEach((s, i) => (vocab[s] = i));
  const merges = bpe.merges.map(([a, b], i) => {
    strings[256 + i] = strings[a] + strings[b];
    vocab[strings[256 + i]] = 256 + i;
    return `${strings[a]} ${strings[b]}`;
  });
  const added = Object.entries(bpe.specialTokens).map(([content, id]) => addedToken(id, content));
  for (const a of added) vocab[a.content] = a.id;
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        // Oniguruma (the Rust crate's regex engine) spells scripts \p{Han}; JavaScript \p{Script=Han}.
        { type: 'Split', pattern: { Regex: bpe.pattern.replaceAll('\\p{Script=Han}', '\\p{Han}') }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

const LLAMA2C_SPECIALS = ['<unk>', '<s>', '</s>'];

/**
 * llama2.c's SentencePiece BPE as HF's Llama tokenizers write it: "▁" prepended and for spaces,
 * byte fallback to <0xXX>, and merges ranked by the joined piece's score (the order
 * SentencePiece merges in), every split of a piece into two pieces being a merge.
 */
export function llama2cToTokenizerJson(sp: Llama2cTokenizerJSON): Record<string, unknown> {
  const pieces = sp.pieces.map((p, i) => (i < LLAMA2C_SPECIALS.length ? LLAMA2C_SPECIALS[i] : /^<0x[0-9A-F]{2}>$/.test(p) ? p : p.replaceAll(' ', '▁')));
  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => (vocab[p] ??= i));
  const merges: { pair: string; score: number; left: number; right: number }[] = [];
  pieces.forEach((p, id) => {
    if (id < LLAMA2C_SPECIALS.length) return;
    const chars = [...p];
    for (let k = 1; k < chars.length; k++) {
      const left = vocab[chars.slice(0, k).join('')];
      const right = vocab[chars.slice(k).join('')];
      if (left !== undefined && right !== undefined) merges.push({ pair: `${chars.slice(0, k).join('')} ${chars.slice(k).join('')}`, score: sp.scores[id], left, right });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.left - b.left || a.right - b.right);
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: LLAMA2C_SPECIALS.map((s, i) => addedToken(i, s)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: merges.map((m) => m.pair) },
  };
}

/** tokenizer.json and tokenizer_config.json for a tokenizer, or null when its kind has no HF form. */
export function hfTokenizerFiles(tokenizer: Tokenizer): HfTokenizerFiles | null {
  if (tokenizer instanceof HfTokenizer) {
    const hf = tokenizer.toJSON();
    return { json: hf.tokenizer, config: hf.config };
  }
  const j = tokenizer.toJSON() as { type: string };
  if (j.type === 'jielong-bpe') {
    const bpe = j as BpeTokenizerJSON;
    const name = (id: number) => Object.entries(bpe.specialTokens).find(([, i]) => i === id)?.[0] ?? null;
    return {
      json: bpeToTokenizerJson(bpe),
      config: { tokenizer_class: 'PreTrainedTokenizerFast', bos_token: name(tokenizer.bosId), eos_token: name(tokenizer.eotId), pad_token: name(tokenizer.eotId), clean_up_tokenization_spaces: false },
    };
  }
  if (j.type === 'llama2c-sp') {
    return {
      json: llama2cToTokenizerJson(j as Llama2cTokenizerJSON),
      config: { tokenizer_class: 'LlamaTokenizerFast', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false, legacy: true, clean_up_tokenization_spaces: false },
    };
  }
  return null;
}
