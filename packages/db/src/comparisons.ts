// Creating a comparison: the one implementation behind POST /v1/projects/:id/comparisons (the API)
// and the generate job (the worker). Depends only on the database client.
import type { NewAnswer } from '@jielong/shared';
import type { Prisma, PrismaClient } from './generated/prisma/client.ts';

/** A client or an interactive transaction. */
export type Db = PrismaClient | Prisma.TransactionClient;

export interface NewComparison {
  projectId: string;
  promptId: string;
  /** reward and logRatio: a judged generate job's scores of the answer (never set through the API) */
  answers: (NewAnswer & { reward?: number; logRatio?: number })[];
  /** N: rankings that close it */
  requiredRankings: number;
  /** the generate job that made it */
  jobId?: string | null;
}

/** Input the caller must fix; `status` and `field` say how the API reports it (400/404, dotted path). */
export class ComparisonInputError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * Stores a comparison with its answers in the given order (positions 0..K-1). A modelId must name a
 * model of the project (or a global one): unknown ids throw a 404 naming answers.i.modelId.
 */
export async function createComparison(db: Db, input: NewComparison) {
  if (input.answers.length < 2) throw new ComparisonInputError(400, 'a comparison needs at least 2 answers', 'answers');
  const modelIds = [...new Set(input.answers.map((a) => a.modelId).filter((id): id is string => !!id))];
  if (modelIds.length) {
    const known = new Set(
      (await db.model.findMany({ where: { id: { in: modelIds }, OR: [{ projectId: input.projectId }, { projectId: null }] }, select: { id: true } })).map((m) => m.id),
    );
    const bad = input.answers.findIndex((a) => a.modelId && !known.has(a.modelId));
    if (bad >= 0) throw new ComparisonInputError(404, 'model not found', `answers.${bad}.modelId`);
  }
  return db.comparison.create({
    data: {
      projectId: input.projectId,
      promptId: input.promptId,
      requiredRankings: input.requiredRankings,
      jobId: input.jobId ?? null,
      answers: {
        create: input.answers.map((a, position) => ({
          position,
          text: a.text,
          modelId: a.modelId ?? null,
          sampling: (a.sampling ?? undefined) as Prisma.InputJsonValue | undefined,
          reward: a.reward ?? null,
          logRatio: a.logRatio ?? null,
        })),
      },
    },
  });
}
