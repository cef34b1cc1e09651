import { z } from 'zod';
import { IdSchema, PromptTextSchema, TimestampSchema } from './common.ts';

export const PromptSourceSchema = z.enum(['written', 'imported', 'generated']);
export type PromptSource = z.infer<typeof PromptSourceSchema>;

export const LanguageSchema = z.string().trim().min(2).max(35);

export const PromptSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  text: z.string(),
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

// POST /v1/projects/:projectId/prompts (researcher) — 201 when new, 200 with the stored prompt when the text exists
export const CreatePromptRequestSchema = z.object({
  text: PromptTextSchema,
  language: LanguageSchema.optional(),
});
export type CreatePromptRequest = z.infer<typeof CreatePromptRequestSchema>;
export const CreatePromptResponseSchema = z.object({ prompt: PromptSchema, created: z.boolean() });
export type CreatePromptResponse = z.infer<typeof CreatePromptResponseSchema>;

/**
 * One line of a prompt import (JSONL). Accepted shapes:
 *  {"prompt": "...", "language"?: "en"}            — plain
 *  {"instruction": "...", "input"?: "..."}          — alpaca (input appended after a blank line)
 *  {"en_instruction", "en_input", "zh_instruction", "zh_input", ...} — bilingual alpaca: one prompt per language
 */
export const PromptImportLineSchema = z.looseObject({
  prompt: z.string().optional(),
  instruction: z.string().optional(),
  input: z.string().optional(),
  language: LanguageSchema.optional(),
});

/** The prompts one import line holds, or [] when it has none of the accepted fields. */
export function promptsFromImportLine(line: Record<string, unknown>): { text: string; language?: string }[] {
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const join = (instruction: string, input: string) => (input ? `${instruction}\n\n${input}` : instruction);
  const language = str(line.language) || undefined;
  if (str(line.prompt)) return [{ text: str(line.prompt), language }];
  if (str(line.instruction)) return [{ text: join(str(line.instruction), str(line.input)), language }];
  const out: { text: string; language?: string }[] = [];
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
