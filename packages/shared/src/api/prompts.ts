import { z } from 'zod';
import { IdSchema, PromptTextSchema, TimestampSchema } from './common.ts';
import { ChatMessageSchema, DialogueSchema, isHhDialogue, parseHhDialogue, readTurns, storedPrompt, type ChatMessage } from '../dialogue.ts';

export const PromptSourceSchema = z.enum(['written', 'imported', 'generated']);
export type PromptSource = z.infer<typeof PromptSourceSchema>;

export const LanguageSchema = z.string().trim().min(2).max(35);

export const PromptSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  /** a plain prompt's text; a dialogue's turns in hh-rlhf's labels ("Human: …\n\nAssistant: …") */
  text: z.string(),
  /** the dialogue, ending with a user turn; a plain prompt is its one user turn */
  turns: z.array(ChatMessageSchema),
  language: z.string(),
  source: PromptSourceSchema,
  authorId: IdSchema.nullable(),
  createdAt: TimestampSchema,
});
export type Prompt = z.infer<typeof PromptSchema>;

// GET /v1/projects/:projectId/prompts (any member) ?limit&offset&q&source
export const PromptListQuerySchema = z.object({
  q: z.string().max(500).optional(),
  source: PromptSourceSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const PromptListResponseSchema = z.object({ items: z.array(PromptSchema), total: z.number().int() });
export type PromptListResponse = z.infer<typeof PromptListResponseSchema>;

// POST /v1/projects/:projectId/prompts (researcher) — 201 when new, 200 with the stored prompt when it exists.
// A plain prompt is its text; a dialogue is its turns (system first if any, a user turn last).
export const CreatePromptRequestSchema = z
  .object({
    text: PromptTextSchema.optional(),
    turns: DialogueSchema.optional(),
    language: LanguageSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.text === undefined) === (v.turns === undefined)) ctx.addIssue({ code: 'custom', path: ['text'], message: 'give exactly one of text or turns' });
  });
export type CreatePromptRequest = z.infer<typeof CreatePromptRequestSchema>;
export const CreatePromptResponseSchema = z.object({ prompt: PromptSchema, created: z.boolean() });
export type CreatePromptResponse = z.infer<typeof CreatePromptResponseSchema>;

/**
 * One line of a prompt import (JSONL). Accepted shapes:
 *  {"prompt": "...", "language"?: "en"}            — plain (hh-rlhf's "\n\nHuman: …\n\nAssistant: …" keeps its turns)
 *  {"messages": [{"role","content"}…], "language"?} — a dialogue (TRL's conversational form), a user turn last
 *  {"instruction": "...", "input"?: "..."}          — alpaca (input appended after a blank line)
 *  {"en_instruction", "en_input", "zh_instruction", "zh_input", ...} — bilingual alpaca: one prompt per language
 */
export const PromptImportLineSchema = z.looseObject({
  prompt: z.string().optional(),
  messages: z.array(ChatMessageSchema).optional(),
  instruction: z.string().optional(),
  input: z.string().optional(),
  language: LanguageSchema.optional(),
});

export interface ImportedPrompt {
  text: string;
  /** set for a dialogue (see storedPrompt) */
  turns?: ChatMessage[];
  language?: string;
}

/**
 * The prompts one import line holds, or [] when it has none of the accepted fields. A dialogue
 * that breaks the rules throws a DialogueError naming the turn ("line 3.messages.1.role").
 */
export function promptsFromImportLine(line: Record<string, unknown>, path = 'line'): ImportedPrompt[] {
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const join = (instruction: string, input: string) => (input ? `${instruction}\n\n${input}` : instruction);
  const language = str(line.language) || undefined;
  const dialogue = (turns: ChatMessage[]): ImportedPrompt[] => {
    const stored = storedPrompt(turns);
    return [stored.turns ? { text: stored.text, turns: stored.turns, language } : { text: stored.text, language }];
  };
  if (line.messages !== undefined) return dialogue(readTurns(line.messages, `${path}.messages`, { last: 'user' }));
  if (typeof line.prompt === 'string' && isHhDialogue(line.prompt)) {
    // hh-rlhf prompts often end with the empty "Assistant:" the answer would follow
    const turns = parseHhDialogue(line.prompt);
    if (turns.at(-1)?.role === 'assistant' && !turns.at(-1)!.content) turns.pop();
    return dialogue(readTurns(turns, `${path}.prompt`, { last: 'user' }));
  }
  if (str(line.prompt)) return [{ text: str(line.prompt), language }];
  if (str(line.instruction)) return [{ text: join(str(line.instruction), str(line.input)), language }];
  const out: ImportedPrompt[] = [];
  for (const key of Object.keys(line)) {
    const m = /^([a-z]{2,3})_instruction$/.exec(key);
    if (m && str(line[key])) out.push({ text: join(str(line[key]), str(line[`${m[1]}_input`])), language: m[1] });
  }
  return out;
}

// POST /v1/projects/:projectId/prompts/import (researcher)
// Body: JSONL, Content-Type application/x-ndjson (optionally Content-Encoding: gzip).
// A line that is not JSON or holds no prompt fails the whole import (400, field "line N").
export const PromptImportResponseSchema = z.object({
  /** non-empty lines read */
  lines: z.number().int(),
  /** prompts newly stored */
  created: z.number().int(),
  /** prompts whose text the project already had (or repeated within the file) */
  duplicates: z.number().int(),
});
export type PromptImportResponse = z.infer<typeof PromptImportResponseSchema>;

// POST /v1/prompts/:id/skip (annotator): pass over a prompt in the writing queue
export const SkipPromptRequestSchema = z.object({ reason: z.string().trim().min(1).max(1000) });
export type SkipPromptRequest = z.infer<typeof SkipPromptRequestSchema>;
