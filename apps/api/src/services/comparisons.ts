// Creating a comparison over HTTP: the implementation lives in @jielong/db (the generate job in the
// worker uses it too); this wrapper turns its input errors into API errors and returns the
// comparison in the shape the routes serialise.
import { ComparisonInputError, createComparison as storeComparison, type NewComparison } from '@jielong/db';
import type { Db } from '../db.ts';
import { comparisonInclude } from '../dto.ts';
import { ApiError } from '../errors.ts';

export type { NewComparison } from '@jielong/db';

export async function createComparison(db: Db, input: NewComparison) {
  try {
    const { id } = await storeComparison(db, input);
    return await db.comparison.findUniqueOrThrow({ where: { id }, include: comparisonInclude });
  } catch (err) {
    if (err instanceof ComparisonInputError) throw new ApiError(err.status, err.status === 404 ? 'not_found' : 'invalid', err.message, err.field);
    throw err;
  }
}
