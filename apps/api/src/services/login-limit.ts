// Failed logins, limited per account name and per client address. The failures are rows in
// Postgres (LoginFailure), not counters in memory: the API is stateless and may run as several
// processes behind a load balancer, and each of them must count the same failures; a restart
// must not hand an attacker a fresh allowance either.
import type { Db } from '../db.ts';
import { tooManyRequests } from '../errors.ts';

export interface LoginLimit {
  /** how far back failures count */
  windowMs: number;
  /** failures one account name (the email as typed) may have in the window */
  perAccount: number;
  /** failures one client address may have in the window (higher: offices share an address) */
  perAddress: number;
}

export const DEFAULT_LOGIN_LIMIT: LoginLimit = { windowMs: 15 * 60_000, perAccount: 5, perAddress: 20 };

/** The email as the limit counts it: the account name, also one no account has (no hint either way). */
export const accountName = (email: string) => email.trim().toLowerCase();

/**
 * Throws a 429 when the account name or the address has used up its failures. Retry-After is when
 * the oldest failure that keeps it at the limit leaves the window.
 */
export async function checkLoginLimit(db: Db, limit: LoginLimit, email: string, ip: string, now = new Date()): Promise<void> {
  const since = new Date(now.getTime() - limit.windowMs);
  const limitingFailure = (where: { email: string } | { ip: string }, max: number) =>
    db.loginFailure.findFirst({ where: { ...where, createdAt: { gt: since } }, orderBy: { createdAt: 'desc' }, skip: max - 1, select: { createdAt: true } });
  const windowText = span(Math.round(limit.windowMs / 1000));
  const wait = (failure: { createdAt: Date }) => Math.max(1, Math.ceil((failure.createdAt.getTime() + limit.windowMs - now.getTime()) / 1000));

  const byAccount = await limitingFailure({ email }, limit.perAccount);
  if (byAccount) {
    const seconds = wait(byAccount);
    throw tooManyRequests('too_many_failed_logins', `too many failed logins for this account (${limit.perAccount} in ${windowText}); try again in ${span(seconds)}`, seconds, 'email');
  }
  const byAddress = await limitingFailure({ ip }, limit.perAddress);
  if (byAddress) {
    const seconds = wait(byAddress);
    throw tooManyRequests('too_many_failed_logins', `too many failed logins from your address (${limit.perAddress} in ${windowText}); try again in ${span(seconds)}`, seconds);
  }
}

const span = (seconds: number) => (seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`);

export async function recordLoginFailure(db: Db, email: string, ip: string, now = new Date()): Promise<void> {
  await db.loginFailure.create({ data: { email, ip, createdAt: now } });
}

/** After a successful login the account starts afresh; its address keeps its count. */
export async function clearAccountFailures(db: Db, email: string): Promise<void> {
  await db.loginFailure.deleteMany({ where: { email } });
}
