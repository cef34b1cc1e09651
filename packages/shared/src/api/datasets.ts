import { z } from 'zod';

// Exports stream JSONL (Content-Type application/x-ndjson), one row per line.

// GET /v1/projects/:projectId/export/sft ?format=prompt-completion|messages (researcher)
// Rows come from accepted demonstrations.
export const SftExportQuerySchema = z.object({
  format: z.enum(['prompt-completion', 'messages']).default('prompt-completion'),
});
export const SftPromptCompletionRowSchema = z.object({ prompt: z.string(), completion: z.string() });
export type SftPromptCompletionRow = z.infer<typeof SftPromptCompletionRowSchema>;
export const ChatMessageSchema = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
export const SftMessagesRowSchema = z.object({ messages: z.array(ChatMessageSchema) });
export type SftMessagesRow = z.infer<typeof SftMessagesRowSchema>;

// GET /v1/projects/:projectId/export/preferences (researcher)
// Every (better, worse) pair of every non-skipped ranking (rankingToPairs); ties yield nothing.
export const PreferenceRowSchema = z.object({ prompt: z.string(), chosen: z.string(), rejected: z.string() });
export type PreferenceRow = z.infer<typeof PreferenceRowSchema>;

/** hh-rlhf: two whole dialogues "\n\nHuman: …\n\nAssistant: …" differing in the last assistant turn. */
export const HhRlhfRowSchema = z.object({ chosen: z.string(), rejected: z.string() });

// POST /v1/projects/:projectId/preferences/import (researcher)
// Body: JSONL (application/x-ndjson, optionally Content-Encoding: gzip); each line is either
// {"prompt","chosen","rejected"} or hh-rlhf {"chosen","rejected"}. Each usable line becomes a
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
