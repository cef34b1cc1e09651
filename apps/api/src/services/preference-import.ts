// Importing preference pairs: {"prompt","chosen","rejected"} strings, hh-rlhf {"chosen","rejected"}
// dialogues, or TRL's conversational pairs (turn lists, with an explicit or implicit prompt). A
// dialogue keeps its turns: the prompt is the conversation so far, chosen and rejected are
// candidate next assistant turns.
//
// Each pair becomes what a finished rating would have left behind: a complete comparison of two
// answers (chosen at position 0) and a ranking [[chosen], [rejected]] recorded under the importing
// user. Using the real importer rather than a pseudo "import" account keeps provenance (who brought
// the data in, visible on each ranking) without an account that could log in or be assigned work;
// requiredRankings = 1 keeps these comparisons out of the rating queue, and with a single ranking
// each they add nothing to (and take nothing from) the rater-agreement metric.
import { randomUUID } from 'node:crypto';
import {
  cleanText,
  isHhDialogue,
  parseHhDialogue,
  readTurns,
  splitConversations,
  splitHhDialogue,
  storedPrompt,
  TEXT_LIMITS,
  type ChatMessage,
  type PreferenceImportResponse,
} from '@jielong/shared';
import type { PrismaClient } from '../db.ts';
import { badRequest } from '../errors.ts';
import { promptHash, upsertPrompts } from './prompts.ts';
import { parseJsonLines } from './jsonl.ts';

interface Pair {
  line: number;
  prompt: { text: string; turns: ChatMessage[] | null };
  chosen: string;
  rejected: string;
}

const CHUNK = 2000;
const key = (promptId: string, a: string, b: string) => `${promptId}\u0000${[a, b].sort().join('\u0000')}`;

/** One line as a pair, a reason it cannot be used ({ skip }), or a thrown 400 naming the field. */
function readLine(line: number, value: Record<string, unknown>): Omit<Pair, 'line'> | { skip: string } {
  const at = `line ${line}`;
  const { prompt, chosen, rejected } = value;
  if (Array.isArray(chosen) || Array.isArray(rejected)) {
    // TRL conversational: answers are turn lists
    if (prompt === undefined) {
      const split = splitConversations(readTurns(chosen, `${at}.chosen`), readTurns(rejected, `${at}.rejected`));
      return 'error' in split ? { skip: split.error } : { prompt: storedPrompt(split.prompt), chosen: split.chosen, rejected: split.rejected };
    }
    const turns = readTurns(prompt, `${at}.prompt`, { last: 'user' });
    const [c] = readTurns(chosen, `${at}.chosen`, { only: 'assistant' });
    const [r] = readTurns(rejected, `${at}.rejected`, { only: 'assistant' });
    for (const [field, list] of [['chosen', chosen], ['rejected', rejected]] as const) {
      if ((list as unknown[]).length !== 1) throw badRequest(`${at}.${field}`, `${at}.${field} must hold exactly one assistant turn`);
    }
    if (c.content === r.content) return { skip: 'chosen and rejected are the same text' };
    return { prompt: storedPrompt(turns), chosen: c.content, rejected: r.content };
  }
  if (typeof chosen !== 'string') throw badRequest(`${at}.chosen`, `${at}: "chosen" must be a string or a list of turns`);
  if (typeof rejected !== 'string') throw badRequest(`${at}.rejected`, `${at}: "rejected" must be a string or a list of turns`);
  if (prompt === undefined) {
    const split = splitHhDialogue(chosen, rejected);
    return 'error' in split ? { skip: split.error } : { prompt: storedPrompt(split.prompt), chosen: split.chosen, rejected: split.rejected };
  }
  let stored: Pair['prompt'];
  if (Array.isArray(prompt)) stored = storedPrompt(readTurns(prompt, `${at}.prompt`, { last: 'user' }));
  else if (typeof prompt !== 'string') throw badRequest(`${at}.prompt`, `${at}: "prompt" must be a string or a list of turns`);
  else if (isHhDialogue(prompt)) {
    // "\n\nHuman: …\n\nAssistant:" with the answers apart: the empty last turn is where they go
    const turns = parseHhDialogue(prompt);
    if (turns.at(-1)?.role === 'assistant' && !turns.at(-1)!.content) turns.pop();
    if (turns.some((t) => !t.content)) return { skip: 'an empty turn in the prompt' };
    stored = storedPrompt(readTurns(turns, `${at}.prompt`, { last: 'user' }));
  } else stored = { text: cleanText(prompt), turns: null };
  const answers = { chosen: cleanText(chosen), rejected: cleanText(rejected) };
  if (!stored.text || !answers.chosen || !answers.rejected) return { skip: 'empty prompt or answer' };
  if (answers.chosen === answers.rejected) return { skip: 'chosen and rejected are the same text' };
  return { prompt: stored, ...answers };
}

export async function importPreferences(prisma: PrismaClient, projectId: string, userId: string, body: string): Promise<PreferenceImportResponse> {
  const lines = parseJsonLines(body);
  const pairs: Pair[] = [];
  const skipped: { line: number; reason: string }[] = [];
  for (const { line, value } of lines) {
    const read = readLine(line, value);
    if ('skip' in read) {
      skipped.push({ line, reason: read.skip });
      continue;
    }
    if (read.prompt.text.length > TEXT_LIMITS.prompt) throw badRequest(`line ${line}.prompt`, `line ${line}: the prompt is longer than ${TEXT_LIMITS.prompt} characters`);
    for (const field of ['chosen', 'rejected'] as const) {
      if (read[field].length > TEXT_LIMITS.answer) throw badRequest(`line ${line}.${field}`, `line ${line}: "${field}" is longer than ${TEXT_LIMITS.answer} characters`);
    }
    pairs.push({ line, ...read });
  }

  return prisma.$transaction(
    async (tx) => {
      const { byHash, created: promptsCreated } = await upsertPrompts(tx, projectId, pairs.map((p) => p.prompt), 'imported', userId);
      const promptIdOf = (p: Pair) => byHash.get(promptHash(p.prompt))!.id;

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
