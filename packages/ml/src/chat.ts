// The one chat template of Jielong. SFT, the reward model, PPO, DPO and generation all render
// conversations here, so a prompt seen in training is token-for-token the prompt seen at
// generation time:
//
//   <|system|>{content}<|end|><|user|>{content}<|end|><|assistant|>{content}<|end|>…
//
// Contents are encoded with specials disabled, so a user who types "<|assistant|>" gets the
// ordinary tokens for those characters, never a forged turn.
import type { Tokenizer } from './tokenizers/index.ts';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatTurn {
  role: ChatRole;
  content: string;
}

export interface RenderChatOptions {
  /** Put the loss only on the final assistant turn (a DPO or reward-model answer after earlier
   * turns); by default every assistant turn is trained on. */
  lastAssistantOnly?: boolean;
}

export interface RenderedChat {
  ids: number[];
  /** lossMask[i] = 1 when ids[i] is a training target (predicted from ids[0..i-1]): assistant
   * content and the <|end|> closing it; 0 for headers, system and user text. */
  lossMask: number[];
}

export const ROLE_TOKENS: Readonly<Record<ChatRole, string>> = {
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
};
export const END_OF_TURN = '<|end|>';

export function renderChat(tokenizer: Tokenizer, turns: readonly ChatTurn[], options: RenderChatOptions = {}): RenderedChat {
  const ids: number[] = [];
  const lossMask: number[] = [];
  const end = tokenizer.specialId(END_OF_TURN);
  let lastAssistant = -1;
  turns.forEach((turn, i) => {
    if (!Object.hasOwn(ROLE_TOKENS, turn?.role)) throw new Error(`turns[${i}].role must be system, user or assistant`);
    if (typeof turn.content !== 'string') throw new Error(`turns[${i}].content must be a string`);
    if (turn.role === 'assistant') lastAssistant = i;
  });
  turns.forEach((turn, i) => {
    const trained = turn.role === 'assistant' && (!options.lastAssistantOnly || i === lastAssistant) ? 1 : 0;
    ids.push(tokenizer.specialId(ROLE_TOKENS[turn.role]));
    lossMask.push(0);
    for (const id of tokenizer.encode(turn.content)) {
      ids.push(id);
      lossMask.push(trained);
    }
    ids.push(end);
    lossMask.push(trained);
  });
  return { ids, lossMask };
}

/** The conversation so far followed by the assistant header: feed it to the model and sample
 * until chatStopId. It is exactly the prefix renderChat gives once the answer is appended. */
export function renderPrompt(tokenizer: Tokenizer, turns: readonly ChatTurn[]): number[] {
  return [...renderChat(tokenizer, turns).ids, tokenizer.specialId(ROLE_TOKENS.assistant)];
}

/** Generation stops when the model emits this id (the end of its turn). */
export function chatStopId(tokenizer: Tokenizer): number {
  return tokenizer.specialId(END_OF_TURN);
}
