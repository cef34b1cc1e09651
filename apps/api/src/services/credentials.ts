// A new password is a new credential: everything the old one let in stops working with it.
import type { PrismaClient } from '../db.ts';
import { hashPassword } from '../secrets.ts';

/**
 * Sets the password, ends the account's sessions (but `keepSessionHash`, the caller's own when
 * they change it themselves) and revokes its API tokens, in one transaction.
 */
export async function setPassword(prisma: PrismaClient, userId: string, password: string, keepSessionHash?: string) {
  const passwordHash = await hashPassword(password);
  const [, sessions, tokens] = await prisma.$transaction([
    prisma.user.update({ where: { id: userId }, data: { passwordHash } }),
    prisma.session.deleteMany({ where: { userId, ...(keepSessionHash ? { tokenHash: { not: keepSessionHash } } : {}) } }),
    prisma.apiToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } }),
  ]);
  return { endedSessions: sessions.count, revokedTokens: tokens.count };
}
