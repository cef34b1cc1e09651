import { z } from 'zod';
import { AnswerTextSchema, IdSchema, PromptTextSchema, QueryBooleanSchema, TimestampSchema } from './common.ts';
import { LanguageSchema, PromptSchema } from './prompts.ts';
import { ChatMessageSchema } from '../dialogue.ts';

export const DemonstrationStatusSchema = z.enum(['submitted', 'accepted', 'rejected']);
export type DemonstrationStatus = z.infer<typeof DemonstrationStatusSchema>;

export const DemonstrationSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  promptId: IdSchema,
  promptText: z.string(),
  /** the dialogue the answer continues (a plain prompt: its one user turn) */
  promptTurns: z.array(ChatMessageSchema),
  answer: z.string(),
  authorId: IdSchema.nullable(),
  authorName: z.string().nullable(),
  status: DemonstrationStatusSchema,
  reviewNote: z.string().nullable(),
  reviewerId: IdSchema.nullable(),
  reviewedAt: TimestampSchema.nullable(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Demonstration = z.infer<typeof DemonstrationSchema>;

// POST /v1/projects/:projectId/demonstrations (annotator)
// Either answer a queue prompt (promptId) or write a new instruction of one's own (instruction).
export const CreateDemonstrationRequestSchema = z
  .object({
    promptId: IdSchema.optional(),
    instruction: PromptTextSchema.optional(),
    language: LanguageSchema.optional(),
    answer: AnswerTextSchema,
  })
  .superRefine((v, ctx) => {
    if ((v.promptId === undefined) === (v.instruction === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['promptId'], message: 'give exactly one of promptId or instruction' });
    }
  });
export type CreateDemonstrationRequest = z.infer<typeof CreateDemonstrationRequestSchema>;
export const DemonstrationResponseSchema = z.object({ demonstration: DemonstrationSchema });
export type DemonstrationResponse = z.infer<typeof DemonstrationResponseSchema>;

// PATCH /v1/demonstrations/:id (its author, until accepted): a rejected one, revised, goes back to review (status = submitted)
export const UpdateDemonstrationRequestSchema = z.object({ answer: AnswerTextSchema });
export type UpdateDemonstrationRequest = z.infer<typeof UpdateDemonstrationRequestSchema>;

// POST /v1/demonstrations/:id/review (researcher, admin)
// accept (optionally with an edited answer) or reject (a note is required).
export const ReviewDemonstrationRequestSchema = z
  .object({
    decision: z.enum(['accept', 'reject']),
    note: z.string().trim().max(5000).optional(),
    answer: AnswerTextSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.decision === 'reject' && !v.note) ctx.addIssue({ code: 'custom', path: ['note'], message: 'a rejection needs a note' });
  });
export type ReviewDemonstrationRequest = z.infer<typeof ReviewDemonstrationRequestSchema>;

// GET /v1/projects/:projectId/demonstrations ?status&mine=true&limit&offset
// mine=true: any member's own contributions; without it: researcher/admin (the review queue).
export const DemonstrationListQuerySchema = z.object({
  status: DemonstrationStatusSchema.optional(),
  mine: QueryBooleanSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const DemonstrationListResponseSchema = z.object({ items: z.array(DemonstrationSchema), total: z.number().int() });
export type DemonstrationListResponse = z.infer<typeof DemonstrationListResponseSchema>;

// GET /v1/projects/:projectId/writing-task (annotator): a prompt with no submitted/accepted
// demonstration by the caller that they have not skipped; null when the queue is empty.
export const WritingTaskResponseSchema = z.object({ prompt: PromptSchema.nullable(), remaining: z.number().int() });
export type WritingTaskResponse = z.infer<typeof WritingTaskResponseSchema>;
