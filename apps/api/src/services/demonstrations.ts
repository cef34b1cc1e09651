// A new demonstration (written, or kept from the playground), and an author's edit of their own:
// free while it waits for review; after a rejection the edit is the revision the reviewer's note
// asked for, and it goes back to the review queue.
import type { DemonstrationStatus } from '@jielong/shared';
import type { Db, PrismaClient } from '../db.ts';
import { demonstrationInclude } from '../dto.ts';
import { conflict } from '../errors.ts';

/** Submits `answer` to the prompt for review (inside the caller's transaction): one pending or accepted demonstration per prompt and author. */
export async function submitDemonstration(tx: Db, projectId: string, promptId: string, authorId: string, answer: string) {
  // the prompt row lock serialises two submissions of the same prompt by the same person
  await tx.$queryRaw`SELECT id FROM "Prompt" WHERE id = ${promptId} FOR UPDATE`;
  const pending = await tx.demonstration.findFirst({ where: { promptId, authorId, status: { in: ['submitted', 'accepted'] } } });
  if (pending) throw conflict('already_submitted', 'you already answered this prompt; edit that demonstration instead');
  return tx.demonstration.create({ data: { projectId, promptId, answer, authorId }, include: demonstrationInclude });
}

interface Editable {
  id: string;
  promptId: string;
  authorId: string | null;
}

export async function editOwnDemonstration(prisma: PrismaClient, demonstration: Editable, answer: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    // the same prompt row lock as a new submission: a revision and a fresh answer to the prompt cannot both land
    await tx.$queryRaw`SELECT id FROM "Prompt" WHERE id = ${demonstration.promptId} FOR UPDATE`;
    const current = await tx.demonstration.findUniqueOrThrow({ where: { id: demonstration.id }, select: { status: true } });
    const status = current.status as DemonstrationStatus;
    if (status === 'accepted') throw conflict('already_reviewed', 'this demonstration has been accepted and can no longer be edited');
    if (status === 'rejected') {
      const newer = await tx.demonstration.findFirst({
        where: { promptId: demonstration.promptId, authorId: demonstration.authorId, id: { not: demonstration.id }, status: { in: ['submitted', 'accepted'] } },
      });
      if (newer) throw conflict('already_submitted', 'you answered this prompt again since; edit that demonstration instead');
    }
    // Conditioned on the status read: a review landing meanwhile makes this a conflict, not an overwrite.
    // A revision keeps the reviewer's note (it says what was asked for) but no longer counts as reviewed.
    const { count } = await tx.demonstration.updateMany({
      where: { id: demonstration.id, status },
      data: status === 'rejected' ? { answer, status: 'submitted', reviewerId: null, reviewedAt: null } : { answer },
    });
    if (count === 0) throw conflict('already_reviewed', 'this demonstration was reviewed meanwhile; reload it');
  });
}
