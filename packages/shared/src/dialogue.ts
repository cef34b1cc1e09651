// Conversations. A prompt is a dialogue: system, user and assistant turns ending with a user turn;
// the next assistant turn is what an annotator writes, raters compare and a model generates. A
// plain prompt is the dialogue of one user turn, and is stored as before (Prompt.turns = null), so
// every prompt written before dialogues existed is still valid and keeps its identity.
//
// Two text forms carry dialogues in and out: hh-rlhf's "\n\nHuman: …\n\nAssistant: …" and TRL's
// conversational lists [{"role","content"}]. The checks here name the offending turn the way the
// API names fields ("line 3.messages.1.role"), so an import error points at the line and field.
import { z } from 'zod';
import { TEXT_LIMITS } from './api/common.ts';
import { cleanText, normalisePromptText } from './text.ts';

export const ChatRoleSchema = z.enum(['system', 'user', 'assistant']);
export type ChatRole = z.infer<typeof ChatRoleSchema>;
export const ChatMessageSchema = z.object({ role: ChatRoleSchema, content: z.string() });
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** More turns than any real conversation has; keeps one prompt's rendering bounded. */
export const MAX_TURNS = 200;

/** A prompt's turns as an API body gives them: a system turn only first, a user turn last. */
export const DialogueSchema = z
  .array(z.object({ role: ChatRoleSchema, content: z.string().trim().min(1) }))
  .min(1)
  .max(MAX_TURNS)
  .superRefine((turns, ctx) => {
    const problem = dialogueProblem(turns);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

/** A dialogue prompt, or a plain prompt's text: what job dataset rows and exports hold as "prompt". */
export const PromptContentSchema = z.union([z.string(), z.array(ChatMessageSchema)]);
export type PromptContent = z.infer<typeof PromptContentSchema>;

/** The structural rules a prompt's turns follow beyond each turn's shape; null when they hold. */
function dialogueProblem(turns: readonly ChatMessage[]): { path: (string | number)[]; message: string } | null {
  const late = turns.findIndex((t, i) => i > 0 && t.role === 'system');
  if (late >= 0) return { path: [late, 'role'], message: 'a system turn may only come first' };
  if (turns.at(-1)?.role !== 'user') return { path: [turns.length - 1, 'role'], message: 'the last turn must be a user turn (the assistant answers next)' };
  if (dialogueText(turns).length > TEXT_LIMITS.prompt) return { path: [], message: `the dialogue is longer than ${TEXT_LIMITS.prompt} characters` };
  return null;
}

export class DialogueError extends Error {
  /** `path` is dotted like the API's fields: "line 3.messages.1.role" */
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/**
 * A TRL-style list of turns from an import line, contents cleaned (cleanText). Throws a
 * DialogueError naming the turn and field. `last` is the role the list must end with ("user" for
 * a prompt, "assistant" for a whole conversation whose last turn is the answer); `only` requires
 * every turn to have that role (TRL's chosen/rejected lists).
 */
export function readTurns(value: unknown, path: string, rules: { last?: ChatRole; only?: ChatRole } = {}): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new DialogueError(path, `${path} must be a non-empty list of {"role","content"} turns`);
  if (value.length > MAX_TURNS) throw new DialogueError(path, `${path} has more than ${MAX_TURNS} turns`);
  const turns = value.map((turn: unknown, i): ChatMessage => {
    const at = `${path}.${i}`;
    if (!turn || typeof turn !== 'object' || Array.isArray(turn)) throw new DialogueError(at, `${at} must be an object {"role","content"}`);
    const { role, content } = turn as Record<string, unknown>;
    const parsed = ChatRoleSchema.safeParse(role);
    if (!parsed.success) throw new DialogueError(`${at}.role`, `${at}.role must be "system", "user" or "assistant" (got ${JSON.stringify(role) ?? 'nothing'})`);
    if (rules.only && parsed.data !== rules.only) throw new DialogueError(`${at}.role`, `${at}.role must be "${rules.only}"`);
    if (typeof content !== 'string') throw new DialogueError(`${at}.content`, `${at}.content must be a string`);
    if (!cleanText(content)) throw new DialogueError(`${at}.content`, `${at}.content is empty`);
    return { role: parsed.data, content: cleanText(content) };
  });
  const late = turns.findIndex((t, i) => i > 0 && t.role === 'system');
  if (late >= 0) throw new DialogueError(`${path}.${late}.role`, `${path}.${late}.role: a system turn may only come first`);
  if (rules.last && turns[turns.length - 1].role !== rules.last) {
    const at = `${path}.${turns.length - 1}.role`;
    throw new DialogueError(at, rules.last === 'user' ? `${at}: the last turn must be a user turn (the assistant answers next)` : `${at}: the last turn must be an assistant turn`);
  }
  return turns;
}

const HH_LABELS: Record<ChatRole, string> = { system: 'System', user: 'Human', assistant: 'Assistant' };
const HH_TURN = /\n\n(Human|Assistant|System):/;
const HH_ROLE: Record<string, ChatRole> = { Human: 'user', Assistant: 'assistant', System: 'system' };

/** Whether a text is in hh-rlhf's dialogue form (as opposed to a plain prompt). */
export function isHhDialogue(text: string): boolean {
  return /^\s*\n\nHuman:/.test(text) || (/^Human:/.test(text.trimStart()) && text.includes('\n\nAssistant:'));
}

/** hh-rlhf's "\n\nHuman: …\n\nAssistant: …" as turns (contents cleaned, empty turns kept empty). */
export function parseHhDialogue(text: string): ChatMessage[] {
  const parts = ('\n\n' + text.replace(/\r\n?/g, '\n').trimStart()).split(HH_TURN); // '', role, content, role, content…
  const turns: ChatMessage[] = [];
  for (let k = 1; k < parts.length; k += 2) turns.push({ role: HH_ROLE[parts[k]], content: cleanText(parts[k + 1]) });
  return turns;
}

/** The dialogue as one text, in hh-rlhf's labels ("Human: …\n\nAssistant: …"): Prompt.text, search, plain exports. */
export function dialogueText(turns: readonly ChatMessage[]): string {
  return turns.map((t) => `${HH_LABELS[t.role]}: ${t.content}`).join('\n\n');
}

/** How a prompt is stored: one user turn is a plain prompt (turns null); anything else keeps its turns. */
export function storedPrompt(turns: readonly ChatMessage[]): { text: string; turns: ChatMessage[] | null } {
  if (turns.length === 1 && turns[0].role === 'user') return { text: cleanText(turns[0].content), turns: null };
  return { text: dialogueText(turns), turns: turns.map((t) => ({ role: t.role, content: cleanText(t.content) })) };
}

/** A stored prompt's turns: its dialogue, or its text as the one user turn. */
export function turnsOfPrompt(prompt: { text: string; turns?: unknown }): ChatMessage[] {
  return Array.isArray(prompt.turns) && prompt.turns.length > 0 ? (prompt.turns as ChatMessage[]) : [{ role: 'user', content: prompt.text }];
}

/** What job datasets and plain-or-conversational exports hold as a prompt: the text, or the turns. */
export function promptContent(prompt: { text: string; turns?: unknown }): PromptContent {
  return Array.isArray(prompt.turns) && prompt.turns.length > 0 ? (prompt.turns as ChatMessage[]) : prompt.text;
}

/**
 * The key two prompts are "the same" by (hashed into Prompt.textHash). A plain prompt keeps its
 * old key (normalisePromptText); a dialogue's key holds each role, and a NUL, which no stored text
 * contains, so no plain prompt can share it.
 */
export function promptKey(prompt: { text: string; turns: readonly ChatMessage[] | null }): string {
  if (!prompt.turns) return normalisePromptText(prompt.text);
  return '\u0000dialogue' + prompt.turns.map((t) => `\u0000${t.role}\u0000${normalisePromptText(t.content)}`).join('');
}

export interface DialogueSplit {
  /** the shared turns before the last assistant turn */
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
}

/**
 * Two whole conversations that share everything but the last assistant turn (hh-rlhf's pairs, or
 * TRL's conversational pairs with an implicit prompt): the shared turns are the prompt. Returns a
 * reason string when the pair cannot be used.
 */
export function splitConversations(chosen: readonly ChatMessage[], rejected: readonly ChatMessage[]): DialogueSplit | { error: string } {
  const c = chosen.at(-1);
  const r = rejected.at(-1);
  if (c?.role !== 'assistant' || r?.role !== 'assistant') return { error: 'no assistant turn at the end' };
  const prompt = chosen.slice(0, -1);
  const same = prompt.length === rejected.length - 1 && prompt.every((t, i) => t.role === rejected[i].role && t.content === rejected[i].content);
  if (!same) return { error: 'chosen and rejected differ before the last assistant turn' };
  if (prompt.length === 0) return { error: 'empty prompt' };
  if (prompt.some((t) => !t.content)) return { error: 'an empty turn in the prompt' };
  if (prompt.at(-1)!.role !== 'user') return { error: 'the turn before the answer is not a user turn' };
  if (!c.content || !r.content) return { error: 'empty answer' };
  if (c.content === r.content) return { error: 'chosen and rejected are the same text' };
  return { prompt, chosen: c.content, rejected: r.content };
}

/** hh-rlhf's pair of whole dialogues, split at the last assistant turn. */
export function splitHhDialogue(chosen: string, rejected: string): DialogueSplit | { error: string } {
  if (!chosen.includes('\n\nAssistant:') || !rejected.includes('\n\nAssistant:')) return { error: 'no "\\n\\nAssistant:" turn' };
  return splitConversations(parseHhDialogue(chosen), parseHhDialogue(rejected));
}
