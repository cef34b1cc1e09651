// Prompts are stored once per project, keyed by the hash of their normalised text.
import { cleanText, guessLanguage, normalisePromptText, type PromptSource } from '@jielong/shared';
import type { Db, Prisma } from '../db.ts';
import { sha256 } from '../secrets.ts';

export interface NewPrompt {
  text: string;
  language?: string;
}

export function promptTextHash(text: string): string {
  return sha256(normalisePromptText(text));
}

const CHUNK = 1000;

/**
 * Stores the prompts the project does not have yet (ON CONFLICT DO NOTHING, so it is safe inside a
 * transaction and under concurrent imports) and returns every prompt's row keyed by text hash.
 */
export async function upsertPrompts(
  db: Db,
  projectId: string,
  prompts: NewPrompt[],
  source: PromptSource,
  authorId: string | null,
): Promise<{ byHash: Map<string, Prisma.PromptModel>; created: number }> {
  const unique = new Map<string, Prisma.PromptCreateManyInput>();
  for (const p of prompts) {
    const text = cleanText(p.text);
    const textHash = promptTextHash(text);
    if (!unique.has(textHash)) {
      unique.set(textHash, { projectId, text, textHash, language: p.language ?? guessLanguage(text), source, authorId });
    }
  }
  const rows = [...unique.values()];
  let created = 0;
  const byHash = new Map<string, Prisma.PromptModel>();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    created += (await db.prompt.createMany({ data: chunk, skipDuplicates: true })).count;
    const stored = await db.prompt.findMany({ where: { projectId, textHash: { in: chunk.map((r) => r.textHash) } } });
    for (const p of stored) byHash.set(p.textHash, p);
  }
  return { byHash, created };
}

/** One prompt: the stored row and whether this call created it. */
export async function upsertPrompt(db: Db, projectId: string, prompt: NewPrompt, source: PromptSource, authorId: string | null) {
  const { byHash, created } = await upsertPrompts(db, projectId, [prompt], source, authorId);
  return { prompt: byHash.get(promptTextHash(prompt.text))!, created: created > 0 };
}
