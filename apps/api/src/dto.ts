// Database rows → the wire shapes of @jielong/shared (timestamps as ISO strings).
import type {
  ApiToken,
  Comparison,
  Demonstration,
  Job,
  JobLog,
  JobMetric,
  Member,
  Model,
  Project,
  Prompt,
  Ranking,
  Role,
  User,
} from '@jielong/shared';
import { turnsOfPrompt } from '@jielong/shared';
import type { Prisma } from './db.ts';
import { toAnswerRatings } from './services/answer-ratings.ts';

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
const asRecord = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

export function toUser(u: { id: string; email: string; displayName: string; roles: Role[]; locale: string; createdAt: Date }): User {
  return { id: u.id, email: u.email, displayName: u.displayName, roles: u.roles, locale: u.locale, createdAt: iso(u.createdAt) };
}

export function toToken(t: Prisma.ApiTokenModel): ApiToken {
  return { id: t.id, name: t.name, prefix: t.prefix, createdAt: iso(t.createdAt), lastUsedAt: isoOrNull(t.lastUsedAt), revokedAt: isoOrNull(t.revokedAt) };
}

export function toProject(p: Prisma.ProjectModel, myRoles: Role[]): Project {
  return {
    id: p.id,
    name: p.name,
    guidelines: p.guidelines,
    ratersPerComparison: p.ratersPerComparison,
    answersPerComparison: p.answersPerComparison,
    goldRate: p.goldRate,
    ratingScales: p.ratingScales as Project['ratingScales'],
    thumbs: p.thumbs,
    playgroundForAnnotators: p.playgroundForAnnotators,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    myRoles,
  };
}

export function toMember(m: Prisma.ProjectMemberModel & { user: { email: string; displayName: string } }): Member {
  return { userId: m.userId, email: m.user.email, displayName: m.user.displayName, roles: m.roles, createdAt: iso(m.createdAt) };
}

export function toPrompt(p: Prisma.PromptModel): Prompt {
  return { id: p.id, projectId: p.projectId, text: p.text, turns: turnsOfPrompt(p), language: p.language, source: p.source, authorId: p.authorId, createdAt: iso(p.createdAt) };
}

export const demonstrationInclude = { prompt: { select: { text: true, turns: true } }, author: { select: { displayName: true } } } as const;

export function toDemonstration(d: Prisma.DemonstrationModel & { prompt: { text: string; turns: unknown }; author: { displayName: string } | null }): Demonstration {
  return {
    id: d.id,
    projectId: d.projectId,
    promptId: d.promptId,
    promptText: d.prompt.text,
    promptTurns: turnsOfPrompt(d.prompt),
    answer: d.answer,
    authorId: d.authorId,
    authorName: d.author?.displayName ?? null,
    status: d.status,
    reviewNote: d.reviewNote,
    reviewerId: d.reviewerId,
    reviewedAt: isoOrNull(d.reviewedAt),
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  };
}

export const comparisonInclude = {
  prompt: { select: { text: true, turns: true } },
  answers: { orderBy: { position: 'asc' }, include: { model: { select: { name: true } } } },
  _count: { select: { rankings: { where: { skipped: false } } } },
} as const satisfies Prisma.ComparisonInclude;

export function toComparison(
  c: Prisma.ComparisonModel & {
    prompt: { text: string; turns: unknown };
    answers: (Prisma.AnswerModel & { model: { name: string } | null })[];
    _count: { rankings: number };
  },
): Comparison {
  return {
    id: c.id,
    projectId: c.projectId,
    promptId: c.promptId,
    promptText: c.prompt.text,
    promptTurns: turnsOfPrompt(c.prompt),
    status: c.status,
    requiredRankings: c.requiredRankings,
    rankingsCount: c._count.rankings,
    jobId: c.jobId,
    createdAt: iso(c.createdAt),
    answers: c.answers.map((a) => ({
      id: a.id,
      position: a.position,
      text: a.text,
      modelId: a.modelId,
      modelName: a.model?.name ?? null,
      sampling: a.sampling === null ? null : asRecord(a.sampling),
    })),
    goldOrder: (c.goldOrder as string[][] | null) ?? null,
  };
}

/** What toRanking needs loaded with a ranking. */
export const rankingInclude = { rater: { select: { displayName: true } }, ratings: true } as const satisfies Prisma.RankingInclude;

export function toRanking(r: Prisma.RankingModel & { rater: { displayName: string }; ratings: Prisma.AnswerRatingModel[] }): Ranking {
  return {
    id: r.id,
    comparisonId: r.comparisonId,
    raterId: r.raterId,
    raterName: r.rater.displayName,
    order: r.order as string[][],
    flags: r.flags as Ranking['flags'],
    allBad: r.allBad,
    comment: r.comment,
    timeSpentMs: r.timeSpentMs,
    skipped: r.skipped,
    skipReason: r.skipReason,
    ratings: toAnswerRatings(r.ratings),
    createdAt: iso(r.createdAt),
    changedAt: isoOrNull(r.changedAt),
    frozenAt: isoOrNull(r.frozenAt),
  };
}

export function toModel(m: Prisma.ModelModel): Model {
  return {
    id: m.id,
    projectId: m.projectId,
    name: m.name,
    kind: m.kind,
    parentId: m.parentId,
    jobId: m.jobId,
    config: asRecord(m.config),
    metrics: asRecord(m.metrics),
    createdAt: iso(m.createdAt),
  };
}

export function toJob(j: Prisma.TrainingJobModel & { output: { id: string; name: string } | null }): Job {
  return {
    id: j.id,
    projectId: j.projectId,
    kind: j.kind,
    status: j.status,
    hyperparams: asRecord(j.hyperparams),
    inputModelIds: j.inputModelIds,
    datasetSnapshot: j.datasetSnapshot === null ? null : asRecord(j.datasetSnapshot),
    progress: j.progress,
    error: j.error === null ? null : (j.error as Job['error']),
    attempts: j.attempts,
    cancelRequested: j.cancelRequested,
    createdById: j.createdById,
    createdAt: iso(j.createdAt),
    startedAt: isoOrNull(j.startedAt),
    finishedAt: isoOrNull(j.finishedAt),
    outputModelId: j.output?.id ?? null,
    outputModelName: j.output?.name ?? null,
  };
}

export function toJobMetric(m: Prisma.JobMetricModel): JobMetric {
  return { id: m.id.toString(), step: m.step, data: asRecord(m.data), createdAt: iso(m.createdAt) };
}

export function toJobLog(l: Prisma.JobLogModel): JobLog {
  return { id: l.id.toString(), level: l.level, message: l.message, code: l.code, params: l.params === null ? null : asRecord(l.params), createdAt: iso(l.createdAt) };
}
