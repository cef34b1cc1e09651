// Prompts are stored once per project, keyed by the hash of their normalised text.
import { randomUUID } from 'node:crypto';
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

const CHUNK = 5000;

/**
 * Stores the prompts the project does not have yet and returns every prompt's row keyed by text
 * hash. One INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO NOTHING per chunk: safe inside a
 * transaction and under concurrent imports, and fast for big files (Prisma's createMany costs about
 * a millisecond per row).
 */
export async function upsertPrompts(
  db: Db,
  projectId: string,
  prompts: NewPrompt[],
  source: PromptSource,
  authorId: string | null,
): Promise<{ byHash: Map<string, Prisma.PromptModel>; created: number }> {
  const unique = new Map<string, { id: string; text: string; textHash: string; language: string }>();
  for (const p of prompts) {
    const text = cleanText(p.text);
    const textHash = promptTextHash(text);
    if (!unique.has(textHash)) unique.set(textHash, { id: randomUUID(), text, textHash, language: p.language ?? guessLanguage(text) });
  }
  const rows = [...unique.values()];
  let created = 0;
  const byHash = new Map<string, Prisma.PromptModel>();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const hashes = chunk.map((r) => r.textHash);
    created += await db.$executeRaw`
      INSERT INTO "Prompt" (id, "projectId", text, "textHash", language, source, "authorId")
      SELECT x.id, ${projectId}, x.text, x.hash, x.language, ${source}::"PromptSource", ${authorId}
      FROM unnest(${chunk.map((r) => r.id)}::text[], ${chunk.map((r) => r.text)}::text[], ${hashes}::text[], ${chunk.map((r) => r.language)}::text[])
        AS x(id, text, hash, language)
      ON CONFLICT ("projectId", "textHash") DO NOTHING`;
    const stored = await db.prompt.findMany({ where: { projectId, textHash: { in: hashes } } });
    for (const p of stored) byHash.set(p.textHash, p);
  }
  return { byHash, created };
}

/** One prompt: the stored row and whether this call created it. */
export async function upsertPrompt(db: Db, projectId: string, prompt: NewPrompt, source: PromptSource, authorId: string | null) {
  const { byHash, created } = await upsertPrompts(db, projectId, [prompt], source, authorId);
  return { prompt: byHash.get(promptTextHash(prompt.text))!, created: created > 0 };
}
