// A job's dataset is frozen when the job is created: the rows it will train on are read in one
// repeatable-read transaction and written as JSONL to jobs/<jobId>/dataset.jsonl in the artifact
// store, with sha256 and counts in the job's datasetSnapshot. Data added later is not in it, so a
// job (and a retry of it) trains on exactly what the researcher saw when starting it.
// The rankings read into it are marked frozen in the same transaction: their raters can no
// longer change them (services/ranking-history.ts).
//
// Prompts are read with their turns: a dataset holding any dialogue is written in TRL's
// conversational format throughout (toConversational), so the file a researcher downloads loads in
// TRL as it is and the worker's trainers see every turn.
import {
  promptContent,
  rankingToPairs,
  rankingToUnpaired,
  type DatasetSnapshot,
  type ParsedCreateJobRequest,
  type PreferencePairRowSchema,
  type PretrainRowSchema,
  type PromptRowSchema,
  type SftRowSchema,
  type UnpairedRowSchema,
} from '@jielong/shared';
import { jobPrefix, type ArtifactStore } from '@jielong/db';
import type { z } from 'zod';
import type { Db, PrismaClient } from '../db.ts';
import { ApiError } from '../errors.ts';
import { freezeRankings, isSerializationFailure } from './ranking-history.ts';

type Row =
  | z.input<typeof PretrainRowSchema>
  | z.input<typeof SftRowSchema>
  | z.input<typeof PreferencePairRowSchema>
  | z.input<typeof UnpairedRowSchema>
  | z.input<typeof PromptRowSchema>;

interface Collected {
  rows: Row[];
  counts: Record<string, number>;
  source: string;
  /** the rankings the rows come from: frozen with the dataset, they cannot change from then on */
  rankingIds?: string[];
}

/** Fewest rows each kind can train on (the trainers hold out a validation split). */
const MIN_ROWS: Record<ParsedCreateJobRequest['kind'], number> = { pretrain: 1, sft: 2, reward: 2, dpo: 2, ppo: 1, grpo: 1, kto: 2, best_of_n: 1, generate: 1 };

/** Prompts imported together share a timestamp: their hash orders them the same way every time. */
const promptOrder = [{ createdAt: 'asc' as const }, { textHash: 'asc' as const }];

const emptyDataset = (message: string) => new ApiError(409, 'empty_dataset', message);

async function pretrainRows(db: Db, projectId: string, corpus: string | undefined): Promise<Collected> {
  if (corpus !== undefined) return { rows: [{ text: corpus }], counts: { documents: 1, characters: corpus.length }, source: 'uploaded corpus' };
  const prompts = await db.prompt.findMany({ where: { projectId }, select: { text: true }, orderBy: promptOrder });
  const demos = await db.demonstration.findMany({ where: { projectId, status: 'accepted' }, select: { answer: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const rows = [...prompts.map((p) => ({ text: p.text })), ...demos.map((d) => ({ text: d.answer }))];
  const characters = rows.reduce((n, r) => n + r.text.length, 0);
  return { rows, counts: { documents: rows.length, prompts: prompts.length, demonstrations: demos.length, characters }, source: 'project prompts and accepted demonstrations' };
}

async function sftRows(db: Db, projectId: string): Promise<Collected> {
  const demos = await db.demonstration.findMany({
    where: { projectId, status: 'accepted' },
    include: { prompt: { select: { text: true, turns: true } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  return { rows: demos.map((d) => ({ prompt: promptContent(d.prompt), completion: d.answer })), counts: { demonstrations: demos.length }, source: 'accepted demonstrations' };
}

/** Every (better, worse) pair of every non-skipped ranking, through the shared rankingToPairs. */
async function preferenceRows(db: Db, projectId: string): Promise<Collected> {
  const rankings = await db.ranking.findMany({
    where: { skipped: false, comparison: { projectId } },
    select: { id: true, order: true, comparison: { select: { id: true, prompt: { select: { text: true, turns: true } }, answers: { select: { id: true, text: true } } } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  const rows: Row[] = [];
  const comparisons = new Set<string>();
  for (const r of rankings) {
    const text = new Map(r.comparison.answers.map((a) => [a.id, a.text]));
    comparisons.add(r.comparison.id);
    for (const { better, worse } of rankingToPairs(r.order as string[][])) {
      const chosen = text.get(better);
      const rejected = text.get(worse);
      if (chosen !== undefined && rejected !== undefined) rows.push({ prompt: promptContent(r.comparison.prompt), chosen, rejected, group: r.id });
    }
  }
  return { rows, counts: { pairs: rows.length, rankings: rankings.length, comparisons: comparisons.size }, source: 'rankings (every ranked pair)', rankingIds: rankings.map((r) => r.id) };
}

/**
 * KTO's unpaired examples: the best and the worst answers of every non-skipped ranking
 * (rankingToUnpaired), desirable and undesirable. Per-answer thumbs, where a project collects them,
 * are the same rows from another source.
 */
async function unpairedRows(db: Db, projectId: string): Promise<Collected> {
  const rankings = await db.ranking.findMany({
    where: { skipped: false, comparison: { projectId } },
    select: { id: true, order: true, comparison: { select: { prompt: { select: { text: true, turns: true } }, answers: { select: { id: true, text: true } } } } },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  const rows: Row[] = [];
  let desirable = 0;
  for (const r of rankings) {
    const text = new Map(r.comparison.answers.map((a) => [a.id, a.text]));
    const { desirable: up, undesirable: down } = rankingToUnpaired(r.order as string[][]);
    for (const [ids, label] of [[up, true], [down, false]] as const) {
      for (const id of ids) {
        const completion = text.get(id);
        if (completion === undefined) continue;
        rows.push({ prompt: promptContent(r.comparison.prompt), completion, label, group: r.id });
        if (label) desirable++;
      }
    }
  }
  return { rows, counts: { examples: rows.length, desirable, undesirable: rows.length - desirable, rankings: rankings.length }, source: 'rankings (best and worst answers)' };
}

async function ppoRows(db: Db, projectId: string): Promise<Collected> {
  const prompts = await db.prompt.findMany({ where: { projectId }, select: { id: true, text: true, turns: true }, orderBy: promptOrder });
  return { rows: prompts.map((p) => ({ promptId: p.id, prompt: promptContent(p) })), counts: { prompts: prompts.length }, source: 'project prompts' };
}

async function generateRows(db: Db, projectId: string, promptIds: string[] | undefined, maxPrompts: number): Promise<Collected> {
  if (promptIds) {
    const found = new Map((await db.prompt.findMany({ where: { projectId, id: { in: promptIds } }, select: { id: true, text: true, turns: true } })).map((p) => [p.id, p]));
    const missing = promptIds.findIndex((id) => !found.has(id));
    if (missing >= 0) throw new ApiError(404, 'not_found', 'prompt not found in this project', `promptIds.${missing}`);
    const unique = [...new Set(promptIds)].map((id) => found.get(id)!);
    return { rows: unique.map((p) => ({ promptId: p.id, prompt: promptContent(p) })), counts: { prompts: unique.length }, source: 'chosen prompts' };
  }
  const prompts = await db.prompt.findMany({
    where: { projectId, comparisons: { none: {} } },
    select: { id: true, text: true, turns: true },
    orderBy: promptOrder,
    take: maxPrompts,
  });
  return { rows: prompts.map((p) => ({ promptId: p.id, prompt: promptContent(p) })), counts: { prompts: prompts.length }, source: 'project prompts without comparisons' };
}

function collect(db: Db, projectId: string, req: ParsedCreateJobRequest): Promise<Collected> {
  switch (req.kind) {
    case 'pretrain':
      return pretrainRows(db, projectId, req.corpus);
    case 'sft':
      return sftRows(db, projectId);
    case 'reward':
    case 'dpo':
      return preferenceRows(db, projectId);
    case 'kto':
      return unpairedRows(db, projectId);
    case 'ppo':
    case 'grpo':
    case 'best_of_n':
      return ppoRows(db, projectId);
    case 'generate':
      return generateRows(db, projectId, req.promptIds, req.hyperparams.maxPrompts);
  }
}

const WHAT: Record<ParsedCreateJobRequest['kind'], string> = {
  pretrain: 'text to pre-train on (send corpus, or add prompts and demonstrations)',
  sft: 'accepted demonstrations',
  reward: 'ranked comparisons (preference pairs)',
  dpo: 'ranked comparisons (preference pairs)',
  ppo: 'prompts',
  grpo: 'prompts',
  kto: 'ranked comparisons (their best and worst answers)',
  best_of_n: 'prompts',
  generate: 'prompts to answer (every prompt already has a comparison: pass promptIds)',
};

/** Every row in TRL's conversational form (prompt as turns, answers as one-turn assistant lists), when any prompt is a dialogue. */
function toConversational(rows: Row[]): Row[] {
  if (!rows.some((r) => 'prompt' in r && Array.isArray(r.prompt))) return rows;
  const turn = (content: unknown) => (typeof content === 'string' ? [{ role: 'assistant' as const, content }] : content);
  return rows.map((r) => {
    if (!('prompt' in r)) return r;
    const prompt = typeof r.prompt === 'string' ? [{ role: 'user' as const, content: r.prompt }] : r.prompt;
    if ('completion' in r) return { ...r, prompt, completion: turn(r.completion) } as Row;
    if ('chosen' in r) return { ...r, prompt, chosen: turn(r.chosen), rejected: turn(r.rejected) } as Row;
    return { ...r, prompt };
  });
}

/** Reads the job's rows consistently, checks there are enough, writes the file; returns the snapshot. */
export async function freezeDataset(prisma: PrismaClient, store: ArtifactStore, projectId: string, jobId: string, req: ParsedCreateJobRequest): Promise<DatasetSnapshot> {
  const read = () =>
    prisma.$transaction(
      async (tx) => {
        const collected = await collect(tx, projectId, req);
        if (collected.rows.length < MIN_ROWS[req.kind]) {
          throw emptyDataset(`a ${req.kind} job needs at least ${MIN_ROWS[req.kind]} rows of ${WHAT[req.kind]}; the project has ${collected.rows.length}`);
        }
        await freezeRankings(tx, collected.rankingIds ?? []);
        return collected;
      },
      { isolationLevel: 'RepeatableRead', timeout: 60_000 },
    );
  let collected: Collected | undefined;
  for (let attempt = 1; !collected; attempt++) {
    try {
      collected = await read();
    } catch (err) {
      // a rater changed one of the rankings after the snapshot was taken: read again, with the change
      if (!isSerializationFailure(err) || attempt >= 5) throw err;
    }
  }
  const { rows, counts, source } = collected;
  const path = `${jobPrefix(jobId)}/dataset.jsonl`;
  const { sha256, bytes } = await store.put(path, toConversational(rows).map((r) => JSON.stringify(r)).join('\n') + '\n', { immutable: true });
  return { path, sha256, bytes, counts: { rows: rows.length, ...counts }, source, frozenAt: new Date().toISOString() };
}
