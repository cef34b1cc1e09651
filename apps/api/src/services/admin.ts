import type { Db } from '../db.ts';
import { hashPassword, newPassword } from '../secrets.ts';

/**
 * Makes sure the first admin exists. An existing account is left alone (its password may have been
 * changed since). Returns the generated password when one had to be made up, so it can be shown once.
 */
export async function ensureAdmin(db: Db, email: string, password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
  const normalised = email.trim().toLowerCase();
  if (await db.user.findUnique({ where: { email: normalised } })) return { created: false };
  const generatedPassword = password ? undefined : newPassword();
  await db.user.create({
    data: {
      email: normalised,
      displayName: 'Admin',
      roles: ['admin', 'researcher'],
      passwordHash: await hashPassword(password ?? generatedPassword!),
    },
  });
  return { created: true, generatedPassword };
}
