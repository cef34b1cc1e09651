// A process lease: while an API process lives it holds a session advisory lock on its own
// connection, so any process can tell whether the owner of a half-done piece of work (an
// Idempotency-Key claimed but never answered) is still alive. kill -9 closes the socket and
// PostgreSQL releases the lock at once; no heartbeat rows, no timeouts to tune.
//
// The same connection LISTENs for the process: what a process keeps in memory from the database
// (the credentials of apps/api/src/plugins/auth.ts) is told of changes by triggers' NOTIFY, and
// while the connection is down nothing is known, so a listener is told to forget it all.
import { randomInt } from 'node:crypto';
import pg from 'pg';

/** The first key of every lease lock (two-key advisory locks: this class, then the lease's key). */
export const LEASE_LOCK_CLASS = 0x4a4c; // "JL"
const RECONNECT_MS = 500;

export interface ProcessLease {
  /** this process's key (1 … 2^31-1), stored beside the work it owns */
  readonly key: number;
  /**
   * Calls `onChange` on every notification on `channel`, and whenever the connection was lost
   * (notifications may have been missed meanwhile). Resolves once the channel is listened to, if
   * the connection is up; after a reconnect it is listened to again.
   */
  listen(channel: string, onChange: () => void): Promise<void>;
  /** whether `channel` is listened to right now: only then is what its notifications keep up to date */
  listening(channel: string): boolean;
  stop(): Promise<void>;
}

/**
 * SQL for "the lease `key` is held", for any connection to the same database. A lease whose
 * connection was terminated looks dead until it reconnects; work guarded by one must therefore
 * still fence itself (see apps/api/src/plugins/idempotency.ts).
 */
export const LEASE_HELD_SQL = `SELECT EXISTS (
  SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid::bigint = ${LEASE_LOCK_CLASS} AND objid::bigint = $1) AS held`;

export async function startProcessLease(url: string): Promise<ProcessLease> {
  const key = randomInt(1, 2 ** 31 - 1);
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const listeners = new Map<string, Set<() => void>>();
  /** channels LISTENed to on the current connection */
  const heard = new Set<string>();
  const forgetAll = () => {
    heard.clear();
    for (const onChanges of listeners.values()) for (const onChange of onChanges) onChange();
  };
  // channel names are the callers' constants, quoted as identifiers
  const listenOn = async (c: pg.Client, channel: string) => {
    await c.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    if (client === c) heard.add(channel);
  };

  const retryLater = () => {
    if (stopped) return;
    timer = setTimeout(() => take().catch(retryLater), RECONNECT_MS);
    timer.unref();
  };
  const take = async () => {
    const c = new pg.Client({ connectionString: url, application_name: 'jielong-lease' });
    c.on('error', () => {}); // reported by 'end' below
    c.on('notification', (n) => listeners.get(n.channel)?.forEach((onChange) => onChange()));
    try {
      await c.connect();
      await c.query('SELECT pg_advisory_lock($1, $2)', [LEASE_LOCK_CLASS, key]);
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    if (stopped) return void (await c.end());
    client = c;
    // a terminated connection (failover, pg_terminate_backend) takes the lock with it: take it again
    c.on('end', () => {
      if (client !== c) return;
      client = null;
      forgetAll();
      retryLater();
    });
    // what changed while no connection listened is unknown
    forgetAll();
    await Promise.all([...listeners.keys()].map((channel) => listenOn(c, channel))).catch(() => c.end());
  };

  await take();
  return {
    key,
    async listen(channel, onChange) {
      const known = listeners.has(channel);
      listeners.set(channel, (listeners.get(channel) ?? new Set()).add(onChange));
      // a connection that fails to listen is ended, and the next one listens (as one lost meanwhile does)
      const c = client;
      if (c && !known) await listenOn(c, channel).catch(() => c.end());
    },
    listening: (channel) => client !== null && heard.has(channel),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      forgetAll();
      await c?.end();
    },
  };
}
