// Straight to PostgreSQL, past the ORM, for the statements on every request's path (who is
// calling) and the rating routes' one call each: node-postgres on the Prisma client's own pool,
// each statement prepared once per connection under its name.
import { sqlPoolOf, type PrismaClient, type QueryResultRow } from '@jielong/db';
import { isConnectionLost } from './errors.ts';

/**
 * Runs a named prepared statement; `name` must be unique to `text`. An error the statement raised
 * gives the connection back to the pool (pool.query would close it, and a new connection plans
 * every statement and function again); a broken connection is closed.
 */
export async function prepared<T extends QueryResultRow>(prisma: PrismaClient, name: string, text: string, values: unknown[]): Promise<T[]> {
  const client = await sqlPoolOf(prisma).connect();
  try {
    const { rows } = await client.query<T>({ name, text, values });
    client.release();
    return rows;
  } catch (err) {
    client.release(isConnectionLost(err) ? (err as Error) : undefined);
    throw err;
  }
}

/** A timestamp column as UTC ISO-8601 text (node-postgres would read `timestamp` in the process's zone). */
export const isoColumn = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
