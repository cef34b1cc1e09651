// The playground: a researcher (or, where the project allows it, an annotator) chats with one of the
// project's models. Each model turn is a reply: asked for with the dialogue so far and sampling
// settings, written by a worker, streamed over Server-Sent Events, and possibly kept as a demonstration.
import { z } from 'zod';
import { AnswerTextSchema, IdSchema, TimestampSchema } from './common.ts';
import { ChatMessageSchema, DialogueSchema } from '../dialogue.ts';
import { GenerateHyperparamsSchema } from '../hyperparams.ts';

/** The generate job's sampling settings and bounds; a chat answer gets more room by default. */
export const SamplingSettingsSchema = GenerateHyperparamsSchema.pick({ temperature: true, topK: true, topP: true, seed: true }).extend({
  maxTokens: GenerateHyperparamsSchema.shape.maxTokens.unwrap().default(256),
});
export type SamplingSettings = z.infer<typeof SamplingSettingsSchema>;

export const PlaygroundStatusSchema = z.enum(['queued', 'running', 'succeeded', 'stopped', 'failed']);
export type PlaygroundStatus = z.infer<typeof PlaygroundStatusSchema>;

export const PlaygroundReplySchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  modelId: IdSchema.nullable(),
  modelName: z.string().nullable(),
  turns: z.array(ChatMessageSchema),
  sampling: SamplingSettingsSchema,
  status: PlaygroundStatusSchema,
  /** the answer so far (special tokens never appear in it) */
  text: z.string(),
  /** stop: the model ended its turn; length: maxTokens cut it */
  finish: z.enum(['stop', 'length']).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  stats: z.object({
    promptTokens: z.number().int().optional(),
    tokens: z.number().int().optional(),
    /** 0 when the worker had the model loaded already */
    loadMs: z.number().optional(),
    firstTokenMs: z.number().optional(),
    ms: z.number().optional(),
  }),
  demonstrationId: IdSchema.nullable(),
  createdAt: TimestampSchema,
  finishedAt: TimestampSchema.nullable(),
});
export type PlaygroundReply = z.infer<typeof PlaygroundReplySchema>;

// POST /v1/projects/:projectId/playground/replies (researcher; annotator when the project allows it)
export const CreatePlaygroundReplyRequestSchema = z.object({
  modelId: IdSchema,
  /** the dialogue so far, ending with the user's new turn */
  turns: DialogueSchema,
  sampling: SamplingSettingsSchema.default(SamplingSettingsSchema.parse({})),
});
export type CreatePlaygroundReplyRequest = z.input<typeof CreatePlaygroundReplyRequestSchema>;
export const PlaygroundReplyResponseSchema = z.object({ reply: PlaygroundReplySchema });
export type PlaygroundReplyResponse = z.infer<typeof PlaygroundReplyResponseSchema>;

// GET /v1/playground/replies/:id/events (its asker): text/event-stream of
//   event: delta   data: { text }     (id: the answer's length so far; Last-Event-ID resumes there)
//   event: reply   data: { reply }    (first, and whenever the status changes; the last one is final)
export const PlaygroundDeltaSchema = z.object({ text: z.string() });
export type PlaygroundDelta = z.infer<typeof PlaygroundDeltaSchema>;

// POST /v1/playground/replies/:id/demonstration (its asker): the answer (optionally edited) becomes a
// demonstration of the dialogue, submitted for review like a written one.
export const KeepPlaygroundReplyRequestSchema = z.object({ answer: AnswerTextSchema.optional() });

// GET /v1/projects/:projectId/playground/models: the models one may chat with (no reward models)
export const PlaygroundModelSchema = z.object({ id: IdSchema, name: z.string(), kind: z.enum(['base', 'sft', 'policy']), createdAt: TimestampSchema });
export const PlaygroundModelListResponseSchema = z.object({ items: z.array(PlaygroundModelSchema) });
export type PlaygroundModelListResponse = z.infer<typeof PlaygroundModelListResponseSchema>;
