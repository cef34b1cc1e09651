// Importing preference pairs, {"prompt","chosen","rejected"} or hh-rlhf {"chosen","rejected"}.
//
// Each pair becomes what a finished rating would have left behind: a complete comparison of two
// answers (chosen at position 0) and a ranking [[chosen], [rejected]] recorded under the importing
// user. Using the real importer rather than a pseudo "import" account keeps provenance (who brought
// the data in, visible on each ranking) without an account that could log in or be assigned work;
// requiredRankings = 1 keeps these comparisons out of the rating queue, and with a single ranking
// each they add nothing to (and take nothing from) the rater-agreement metric.
import { randomUUID } from 'node:crypto';
import { cleanText, splitHhDialogue, TEXT_LIMITS, type PreferenceImportResponse } from '@jielong/shared';
import type { PrismaClient } from '../db.ts';
import { badRequest } from '../errors.ts';
import { promptTextHash, upsertPrompts } from './prompts.ts';
import { parseJsonLines } from './jsonl.ts';

interface Pair {
  line: number;
  prompt: string;
  chosen: string;
  rejected: string;
}

const CHUNK = 2000;
const key = (promptId: string, a: string, b: string) => `${promptId}\u0000${[a, b].sort().join('\u0000')}`;

export async function importPreferences(prisma: PrismaClient, projectId: string, userId: string, body: string): Promise<PreferenceImportResponse> {
  const lines = parseJsonLines(body);
  const pairs: Pair[] = [];
  const skipped: { line: number; reason: string }[] = [];
  const checkLength = (p: Pair) => {
    if (p.prompt.length > TEXT_LIMITS.prompt) throw badRequest(`line ${p.line}.prompt`, `line ${p.line}: the prompt is longer than ${TEXT_LIMITS.prompt} characters`);
    for (const field of ['chosen', 'rejected'] as const) {
      if (p[field].length > TEXT_LIMITS.answer) throw badRequest(`line ${p.line}.${field}`, `line ${p.line}: "${field}" is longer than ${TEXT_LIMITS.answer} characters`);
    }
    return p;
  };
  for (const { line, value } of lines) {
    const { prompt, chosen, rejected } = value;
    if (typeof chosen !== 'string') throw badRequest(`line ${line}.chosen`, `line ${line}: "chosen" must be a string`);
    if (typeof rejected !== 'string') throw badRequest(`line ${line}.rejected`, `line ${line}: "rejected" must be a string`);
    if (prompt !== undefined && typeof prompt !== 'string') throw badRequest(`line ${line}.prompt`, `line ${line}: "prompt" must be a string`);
    if (typeof prompt === 'string') {
      const p = { line, prompt: cleanText(prompt), chosen: cleanText(chosen), rejected: cleanText(rejected) };
      if (!p.prompt || !p.chosen || !p.rejected) skipped.push({ line, reason: 'empty prompt or answer' });
      else if (p.chosen === p.rejected) skipped.push({ line, reason: 'chosen and rejected are the same text' });
      else pairs.push(checkLength(p));
    } else {
      const split = splitHhDialogue(chosen, rejected);
      if ('error' in split) skipped.push({ line, reason: split.error });
      else pairs.push(checkLength({ line, ...split }));
    }
  }

  return prisma.$transaction(
    async (tx) => {
      const { byHash, created: promptsCreated } = await upsertPrompts(tx, projectId, pairs.map((p) => ({ text: p.prompt })), 'imported', userId);
      const promptIdOf = (p: Pair) => byHash.get(promptTextHash(p.prompt))!.id;

      // pairs the project already holds (a re-import) are counted, not stored again
      const seen = new Set<string>();
      const promptIds = [...new Set(pairs.map(promptIdOf))];
      for (let i = 0; i < promptIds.length; i += CHUNK) {
        const existing = await tx.comparison.findMany({
          where: { projectId, promptId: { in: promptIds.slice(i, i + CHUNK) } },
          select: { promptId: true, answers: { select: { text: true } } },
        });
        for (const c of existing) if (c.answers.length === 2) seen.add(key(c.promptId, c.answers[0].text, c.answers[1].text));
      }

      const comparisons: { id: string; promptId: string; chosenId: string; rejectedId: string; chosen: string; rejected: string }[] = [];
      let duplicates = 0;
      for (const p of pairs) {
        const promptId = promptIdOf(p);
        const k = key(promptId, p.chosen, p.rejected);
        if (seen.has(k)) {
          duplicates++;
          continue;
        }
        seen.add(k);
        comparisons.push({ id: randomUUID(), promptId, chosenId: randomUUID(), rejectedId: randomUUID(), chosen: p.chosen, rejected: p.rejected });
      }
      for (let i = 0; i < comparisons.length; i += CHUNK) {
        const chunk = comparisons.slice(i, i + CHUNK);
        await tx.$executeRaw`
          INSERT INTO "Comparison" (id, "projectId", "promptId", "requiredRankings", status)
          SELECT x.id, ${projectId}, x.prompt, 1, 'complete'::"ComparisonStatus"
          FROM unnest(${chunk.map((c) => c.id)}::text[], ${chunk.map((c) => c.promptId)}::text[]) AS x(id, prompt)`;
        await tx.$executeRaw`
          INSERT INTO "Answer" (id, "comparisonId", position, text)
          SELECT x.id, x.comparison, 0, x.text FROM unnest(${chunk.map((c) => c.chosenId)}::text[], ${chunk.map((c) => c.id)}::text[], ${chunk.map((c) => c.chosen)}::text[]) AS x(id, comparison, text)
          UNION ALL
          SELECT x.id, x.comparison, 1, x.text FROM unnest(${chunk.map((c) => c.rejectedId)}::text[], ${chunk.map((c) => c.id)}::text[], ${chunk.map((c) => c.rejected)}::text[]) AS x(id, comparison, text)`;
        await tx.$executeRaw`
          INSERT INTO "Ranking" (id, "comparisonId", "raterId", "order")
          SELECT x.id, x.comparison, ${userId}, x.ord::jsonb
          FROM unnest(${chunk.map(() => randomUUID())}::text[], ${chunk.map((c) => c.id)}::text[], ${chunk.map((c) => JSON.stringify([[c.chosenId], [c.rejectedId]]))}::text[]) AS x(id, comparison, ord)`;
      }
      return { lines: lines.length, imported: comparisons.length, duplicates, promptsCreated, skipped };
    },
    { timeout: 300_000 },
  );
}
