// Refuses, before any route sees it, text PostgreSQL cannot store (a NUL character or a lone
// surrogate) anywhere in the body, the query string or the path: a 400 naming the field instead
// of the database's 500. JSONL imports arrive as one string and are checked line by line where
// they are parsed (services/jsonl.ts), so the error can name the line.
import fp from 'fastify-plugin';
import { findUnstorableText } from '@jielong/shared';
import { badRequest } from '../errors.ts';

export function refuseUnstorable(value: unknown, part: string): void {
  const found = findUnstorableText(value);
  if (found) throw badRequest(found.path || part, `${found.path || part}: contains a ${found.problem} character, which cannot be stored`);
}

export default fp(
  async (app) => {
    app.addHook('preValidation', async (req) => {
      refuseUnstorable(req.params, 'params');
      refuseUnstorable(req.query, 'query');
      if (typeof req.body !== 'string') refuseUnstorable(req.body, 'body');
    });
  },
  { name: 'jielong-storable-text', fastify: '5.x' },
);
