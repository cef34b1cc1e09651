// The one place where conversations become tokens. SFT, the reward model, PPO, DPO and generation
// all render here, so a prompt seen in training is token-for-token the prompt seen at generation
// time. A tokenizer is rendered in one of three formats (chatFormat):
//
//   template  the tokenizer carries its model's own chat template (a Hugging Face
//             tokenizer_config.json's chat_template): turns are rendered through it.
//   jielong   the tokenizer has Jielong's chat tokens (our BPE always; an imported base once
//             withChatTokens has added them):
//               [BOS]<|system|>{content}<|end|><|user|>{content}<|end|><|assistant|>{content}<|end|>…
//             BOS only for tokenizers whose BOS is not their end of text (llama2.c's <s>).
//   plain     an imported base that has neither: it never saw a chat turn, so a prompt is plain
//             text to continue (BOS, the turns' contents one per line) and it cannot be trained on
//             turns until withChatTokens gives it the tokens.
//
// Contents are always encoded with specials disabled, so a user who types "<|assistant|>" or
// "<|im_end|>" gets the ordinary tokens for those characters, never a forged turn. For a template
// this is why each content is swapped for a marker while the template renders: the template's own
// text is encoded with its specials, each content on its own without them. The markers also say
// exactly where each assistant answer lies, which gives the loss mask without re-rendering
// prefixes or relying on {% generation %} tags (few templates have them).
import { specialStopIds } from './sample.ts';
import type { Tokenizer } from './tokenizers/index.ts';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatTurn {
  role: ChatRole;
  content: string;
}

export type ChatFormat = 'template' | 'jielong' | 'plain';

export interface RenderChatOptions {
  /** Put the loss only on the final assistant turn (a DPO or reward-model answer after earlier
   * turns); by default every assistant turn is trained on. */
  lastAssistantOnly?: boolean;
}

export interface RenderedChat {
  ids: number[];
  /** lossMask[i] = 1 when ids[i] is a training target (predicted from ids[0..i-1]): assistant
   * content and the end-of-turn token closing it; 0 for headers, system and user text. */
  lossMask: number[];
  /** Where the last assistant turn's header starts (the text between the previous turn's content
   * and this answer); -1 without an assistant turn. Truncation keeps it with the answer. */
  answerAt: number;
}

export const ROLE_TOKENS: Readonly<Record<ChatRole, string>> = {
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
};
export const END_OF_TURN = '<|end|>';
/** What Jielong's format needs of a tokenizer, and what withChatTokens adds to one that lacks it. */
export const CHAT_TOKENS: readonly string[] = [ROLE_TOKENS.system, ROLE_TOKENS.user, ROLE_TOKENS.assistant, END_OF_TURN];

/** Stands in for turn i's content while a template renders (Unicode private-use characters, which
 * no template writes and which are not specials of any tokenizer). */
const marker = (i: number) => `\uF8F0${i}\uF8F1`;
const MARKERS = /\uF8F0(\d+)\uF8F1/u;

const formats = new WeakMap<Tokenizer, ChatFormat>();
const stops = new WeakMap<Tokenizer, number[]>();

/** Which format this tokenizer's conversations are rendered in (see the header). */
export function chatFormat(tokenizer: Tokenizer): ChatFormat {
  let format = formats.get(tokenizer);
  if (format) return format;
  if (tokenizer.chatTemplate?.([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }) != null) format = 'template';
  else format = CHAT_TOKENS.every((t) => hasSpecial(tokenizer, t)) ? 'jielong' : 'plain';
  formats.set(tokenizer, format);
  return format;
}

function hasSpecial(tokenizer: Tokenizer, token: string): boolean {
  try {
    tokenizer.specialId(token);
    return true;
  } catch {
    return false;
  }
}

function checkTurns(turns: readonly ChatTurn[]): void {
  turns.forEach((turn, i) => {
    if (!Object.hasOwn(ROLE_TOKENS, turn?.role)) throw new Error(`turns[${i}].role must be system, user or assistant`);
    if (typeof turn.content !== 'string') throw new Error(`turns[${i}].content must be a string`);
  });
}

/** The conversation as ids with its loss mask. A plain base has no turns to render: add the chat
 * tokens first (withChatTokens; the fine-tuning trainers do). */
export function renderChat(tokenizer: Tokenizer, turns: readonly ChatTurn[], options: RenderChatOptions = {}): RenderedChat {
  checkTurns(turns);
  const lastAssistant = turns.findLastIndex((t) => t.role === 'assistant');
  const trained = (i: number) => turns[i].role === 'assistant' && (!options.lastAssistantOnly || i === lastAssistant);
  const format = chatFormat(tokenizer);
  if (format === 'template') return renderTemplate(tokenizer, turns, false, trained, lastAssistant);
  if (format === 'plain') {
    throw new Error(
      'this tokenizer has no chat template and none of Jielong\'s chat tokens (<|user|>, <|assistant|>, <|end|>): ' +
        'fine-tune the base with SFT, reward or DPO, which add them (withChatTokens)',
    );
  }
  return renderJielong(tokenizer, turns, trained, lastAssistant);
}

/**
 * The conversation so far, ready for the model to write the assistant's answer: sample from it
 * until one of chatStopIds. In the jielong and template formats it is the prefix renderChat gives
 * once the answer is appended; in the plain format it is the turns' text to continue.
 */
export function renderPrompt(tokenizer: Tokenizer, turns: readonly ChatTurn[]): number[] {
  checkTurns(turns);
  const format = chatFormat(tokenizer);
  if (format === 'template') return renderTemplate(tokenizer, turns, true, () => false, -1).ids;
  if (format === 'plain') return tokenizer.encode(turns.map((t) => t.content).join('\n'), { bos: true });
  return [...renderJielong(tokenizer, turns, () => false, -1).ids, tokenizer.specialId(ROLE_TOKENS.assistant)];
}

/**
 * Ids that end an answer: the tokenizer's stop ids, every special token (a role header the model
 * starts on its own begins a turn that is not its answer), and the format's end of turn (<|end|>,
 * or what the template writes after an answer, e.g. <|im_end|>).
 */
export function chatStopIds(tokenizer: Tokenizer): number[] {
  let ids = stops.get(tokenizer);
  if (ids) return ids;
  const set = new Set([...tokenizer.stopIds, ...specialStopIds(tokenizer)]);
  const format = chatFormat(tokenizer);
  if (format === 'jielong') set.add(tokenizer.specialId(END_OF_TURN));
  if (format === 'template') {
    const probe = renderTemplate(tokenizer, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], false, (i) => i === 1, 1);
    const end = probe.ids[probe.lossMask.lastIndexOf(1)];
    if (end !== undefined && tokenizer.isSpecial(end)) set.add(end);
  }
  ids = [...set].sort((a, b) => a - b);
  stops.set(tokenizer, ids);
  return ids;
}

function renderJielong(tokenizer: Tokenizer, turns: readonly ChatTurn[], trained: (i: number) => boolean, lastAssistant: number): RenderedChat {
  const ids: number[] = [];
  const lossMask: number[] = [];
  let answerAt = -1;
  // A distinct BOS (Llama's <s>) is what such a model always saw first.
  if (tokenizer.bosId !== tokenizer.eotId) {
    ids.push(tokenizer.bosId);
    lossMask.push(0);
  }
  const end = tokenizer.specialId(END_OF_TURN);
  turns.forEach((turn, i) => {
    const m = trained(i) ? 1 : 0;
    if (i === lastAssistant) answerAt = ids.length;
    ids.push(tokenizer.specialId(ROLE_TOKENS[turn.role]));
    lossMask.push(0);
    for (const id of tokenizer.encode(turn.content)) {
      ids.push(id);
      lossMask.push(m);
    }
    ids.push(end);
    lossMask.push(m);
  });
  return { ids, lossMask, answerAt };
}

/**
 * Through the tokenizer's template, contents swapped for markers. A trained answer's mask also
 * covers the template's text after it up to its first stop id (the end of turn), so the model
 * learns to end its answer; a template that writes no stop id there leaves only the content.
 */
function renderTemplate(tokenizer: Tokenizer, turns: readonly ChatTurn[], generationPrompt: boolean, trained: (i: number) => boolean, lastAssistant: number): RenderedChat {
  const text = tokenizer.chatTemplate!(turns.map((t, i) => ({ role: t.role, content: marker(i) })), { addGenerationPrompt: generationPrompt });
  if (text == null) throw new Error("the tokenizer's chat template rendered nothing");
  const parts = text.split(MARKERS); // text, turn index, text, turn index, …, text
  const stopSet = new Set([...tokenizer.stopIds, ...specialStopIds(tokenizer)]);
  const ids: number[] = [];
  const lossMask: number[] = [];
  const seen = new Set<number>();
  let answerAt = -1;
  let afterAnswer = false;
  parts.forEach((part, k) => {
    if (k % 2 === 0) {
      const templateIds = tokenizer.encode(part, { allowSpecial: true });
      const end = afterAnswer ? templateIds.findIndex((id) => stopSet.has(id)) : -1;
      if (Number(parts[k + 1]) === lastAssistant) answerAt = ids.length;
      templateIds.forEach((id, j) => {
        ids.push(id);
        lossMask.push(j <= end ? 1 : 0);
      });
      return;
    }
    const i = Number(part);
    if (!(i < turns.length) || seen.has(i)) throw new Error(`the tokenizer's chat template repeats or invents turn ${i}; it cannot be rendered`);
    seen.add(i);
    afterAnswer = trained(i);
    for (const id of tokenizer.encode(turns[i].content)) {
      ids.push(id);
      lossMask.push(afterAnswer ? 1 : 0);
    }
  });
  return { ids, lossMask, answerAt };
}
