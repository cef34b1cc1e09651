// Rows that matter only for a while: sessions past their expiry, Idempotency-Keys past the time a
// client may still retry, and failed logins that have left the rate-limit window.
import type { Db } from '../db.ts';

/** how long a stored response stays replayable: a retry later than this is a new request */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 3600_000;

export interface CleanupResult {
  sessions: number;
  idempotencyKeys: number;
  loginFailures: number;
}

export async function deleteStaleRows(db: Db, loginWindowMs: number, now = new Date()): Promise<CleanupResult> {
  const before = (ms: number) => ({ lt: new Date(now.getTime() - ms) });
  const sessions = await db.session.deleteMany({ where: { expiresAt: { lt: now } } });
  const idempotencyKeys = await db.idempotencyKey.deleteMany({ where: { createdAt: before(IDEMPOTENCY_KEY_RETENTION_MS) } });
  const loginFailures = await db.loginFailure.deleteMany({ where: { createdAt: before(loginWindowMs) } });
  return { sessions: sessions.count, idempotencyKeys: idempotencyKeys.count, loginFailures: loginFailures.count };
}
