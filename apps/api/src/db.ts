// The API's one door to the database package.
import type { PrismaClient, Prisma } from '@jielong/db';
export { Prisma, type PrismaClient } from '@jielong/db';

/** A client or an interactive transaction: services take either. */
export type Db = PrismaClient | Prisma.TransactionClient;
