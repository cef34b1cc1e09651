import { z } from 'zod';

export const RoleSchema = z.enum(['annotator', 'rater', 'researcher', 'admin']);
export type Role = z.infer<typeof RoleSchema>;
export const ROLES = RoleSchema.options;

export const LocaleSchema = z.enum(['en', 'zh']);
export type Locale = z.infer<typeof LocaleSchema>;

export const IdSchema = z.uuid();
/** One set of text limits (characters) for every route and import that stores prompts or answers. */
export const TEXT_LIMITS = { prompt: 20_000, answer: 50_000 } as const;
export const PromptTextSchema = z.string().trim().min(1).max(TEXT_LIMITS.prompt);
export const AnswerTextSchema = z.string().trim().min(1).max(TEXT_LIMITS.answer);

/** Timestamps travel as ISO 8601 strings. */
export const TimestampSchema = z.string();

/** Every error response: `field` is the dotted path of the first bad field (400s). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ProjectParamsSchema = z.object({ projectId: IdSchema });
export const IdParamsSchema = z.object({ id: IdSchema });

/** Offset pagination for lists: `?limit=50&offset=0`; responses carry `total`. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

/** Query-string booleans: "true"/"1" and "false"/"0". */
export const QueryBooleanSchema = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const OkResponseSchema = z.object({ ok: z.literal(true) });

/** Header a client may send on creating POSTs; a retry with the same key+body replays the first response. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const SESSION_COOKIE = 'jielong_session';
