import { z } from 'zod';
import { ChatMessageSchema, PromptContentSchema } from '../dialogue.ts';

// Exports stream JSONL (Content-Type application/x-ndjson), one row per line.

// Formats follow TRL's dataset formats. "standard" rows hold strings: a dialogue prompt is its
// text in hh-rlhf's labels ("Human: …\n\nAssistant: …"). "conversational" rows hold turns
// [{"role","content"}], the answer as a one-turn assistant list, for every row (a plain prompt is
// one user turn), so a file never mixes the two and loads as one table.

/** The answer of a conversational row: [{"role":"assistant","content"}]. */
export const AssistantTurnListSchema = z.array(z.object({ role: z.literal('assistant'), content: z.string() })).length(1);

// GET /v1/projects/:projectId/export/sft ?format=prompt-completion|conversational|messages (researcher)
// Rows come from accepted demonstrations.
export const SftExportQuerySchema = z.object({
  format: z.enum(['prompt-completion', 'conversational', 'messages']).default('prompt-completion'),
});
/** prompt-completion: strings; conversational: {"prompt":[turns],"completion":[assistant turn]} */
export const SftPromptCompletionRowSchema = z.object({ prompt: PromptContentSchema, completion: z.union([z.string(), AssistantTurnListSchema]) });
export type SftPromptCompletionRow = z.infer<typeof SftPromptCompletionRowSchema>;
/** the whole conversation, the demonstration its last assistant turn */
export const SftMessagesRowSchema = z.object({ messages: z.array(ChatMessageSchema) });
export type SftMessagesRow = z.infer<typeof SftMessagesRowSchema>;

// GET /v1/projects/:projectId/export/preferences ?format=standard|conversational (researcher)
// Every (better, worse) pair of every non-skipped ranking (rankingToPairs); ties yield nothing.
export const PreferenceExportQuerySchema = z.object({ format: z.enum(['standard', 'conversational']).default('standard') });
export const PreferenceRowSchema = z.object({
  prompt: PromptContentSchema,
  chosen: z.union([z.string(), AssistantTurnListSchema]),
  rejected: z.union([z.string(), AssistantTurnListSchema]),
});
export type PreferenceRow = z.infer<typeof PreferenceRowSchema>;

/** hh-rlhf: two whole dialogues "\n\nHuman: …\n\nAssistant: …" differing in the last assistant turn. */
export const HhRlhfRowSchema = z.object({ chosen: z.string(), rejected: z.string() });

// POST /v1/projects/:projectId/preferences/import (researcher)
// Body: JSONL (application/x-ndjson, optionally Content-Encoding: gzip); each line is one of
//   {"prompt","chosen","rejected"} strings (a prompt in hh-rlhf's form keeps its turns),
//   hh-rlhf {"chosen","rejected"} whole dialogues (the shared turns are the prompt),
//   TRL conversational {"prompt":[turns],"chosen":[assistant turn],"rejected":[assistant turn]},
//   TRL conversational with an implicit prompt {"chosen":[turns…],"rejected":[turns…]}.
// A turn with a bad role or content fails the import naming it ("line 3.prompt.1.role"). Each usable line becomes a
// complete comparison of 2 answers plus a ranking [[chosen],[rejected]] recorded under the
// importing user. Lines that are not JSON or lack the fields fail the import (400, field "line N");
// well-formed but unusable lines (identical answers, dialogues that differ earlier) are skipped.
export const PreferenceImportResponseSchema = z.object({
  lines: z.number().int(),
  imported: z.number().int(),
  /** lines whose prompt and answer pair the project already holds (a re-import) */
  duplicates: z.number().int(),
  promptsCreated: z.number().int(),
  skipped: z.array(z.object({ line: z.number().int(), reason: z.string() })),
});
export type PreferenceImportResponse = z.infer<typeof PreferenceImportResponseSchema>;
