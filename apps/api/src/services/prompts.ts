// Prompts are stored once per project, keyed by the hash of their normalised text (a dialogue: of
// its turns, see promptKey).
import { randomUUID } from 'node:crypto';
import { cleanText, guessLanguage, promptKey, storedPrompt, type ChatMessage, type PromptSource } from '@jielong/shared';
import type { Db, Prisma } from '../db.ts';
import { sha256 } from '../secrets.ts';

/** A plain prompt's text, or a dialogue's turns (one user turn is stored as a plain prompt). */
export interface NewPrompt {
  text?: string;
  turns?: readonly ChatMessage[] | null;
  language?: string;
}

/** The text and turns a new prompt is stored with. */
function stored(p: NewPrompt): { text: string; turns: ChatMessage[] | null } {
  return p.turns ? storedPrompt(p.turns) : { text: cleanText(p.text ?? ''), turns: null };
}

export function promptHash(p: NewPrompt): string {
  return sha256(promptKey(stored(p)));
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
  const unique = new Map<string, { id: string; text: string; turns: string | null; textHash: string; language: string }>();
  for (const p of prompts) {
    const { text, turns } = stored(p);
    const textHash = sha256(promptKey({ text, turns }));
    if (!unique.has(textHash)) unique.set(textHash, { id: randomUUID(), text, turns: turns && JSON.stringify(turns), textHash, language: p.language ?? guessLanguage(text) });
  }
  const rows = [...unique.values()];
  let created = 0;
  const byHash = new Map<string, Prisma.PromptModel>();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const hashes = chunk.map((r) => r.textHash);
    created += await db.$executeRaw`
      INSERT INTO "Prompt" (id, "projectId", text, turns, "textHash", language, source, "authorId")
      SELECT x.id, ${projectId}, x.text, x.turns::jsonb, x.hash, x.language, ${source}::"PromptSource", ${authorId}
      FROM unnest(${chunk.map((r) => r.id)}::text[], ${chunk.map((r) => r.text)}::text[], ${chunk.map((r) => r.turns)}::text[], ${hashes}::text[], ${chunk.map((r) => r.language)}::text[])
        AS x(id, text, turns, hash, language)
      ON CONFLICT ("projectId", "textHash") DO NOTHING`;
    const stored = await db.prompt.findMany({ where: { projectId, textHash: { in: hashes } } });
    for (const p of stored) byHash.set(p.textHash, p);
  }
  return { byHash, created };
}

/** One prompt: the stored row and whether this call created it. */
export async function upsertPrompt(db: Db, projectId: string, prompt: NewPrompt, source: PromptSource, authorId: string | null) {
  const { byHash, created } = await upsertPrompts(db, projectId, [prompt], source, authorId);
  return { prompt: byHash.get(promptHash(prompt))!, created: created > 0 };
}
