// A project full of open comparisons and raters with tokens, written straight to the database,
// and the keyed ranking submissions the reliability tests send, retry and check.
import { randomUUID } from 'node:crypto';
import { createComparison, type PrismaClient } from '@jielong/db';
import { hashPassword, newSecret, sha256 } from '../../apps/api/src/secrets.ts';

export interface Rater {
  id: string;
  auth: { authorization: string };
}

export interface Submission {
  rater: Rater;
  comparisonId: string;
  key: string;
  body: { order: string[][]; timeSpentMs: number };
}

/** `comparisons` comparisons of 3 answers, each to be ranked by every one of `raters` raters. */
export async function seedRankingWork(prisma: PrismaClient, raters: number, comparisons: number): Promise<{ projectId: string; raters: Rater[]; submissions: Submission[] }> {
  const passwordHash = await hashPassword('not used here');
  const project = await prisma.project.create({ data: { name: 'reliability', ratersPerComparison: raters, answersPerComparison: 3 } });
  const people: Rater[] = [];
  for (let i = 0; i < raters; i++) {
    const user = await prisma.user.create({ data: { email: `rater${i}-${randomUUID()}@test.local`, displayName: `Rater ${i}`, roles: [], passwordHash } });
    await prisma.projectMember.create({ data: { projectId: project.id, userId: user.id, roles: ['rater'] } });
    const token = newSecret('jl_');
    await prisma.apiToken.create({ data: { userId: user.id, name: 'test', prefix: token.slice(0, 9), tokenHash: sha256(token) } });
    people.push({ id: user.id, auth: { authorization: `Bearer ${token}` } });
  }
  const submissions: Submission[] = [];
  for (let c = 0; c < comparisons; c++) {
    const prompt = await prisma.prompt.create({ data: { projectId: project.id, text: `prompt ${c}`, textHash: sha256(`prompt ${c}`), source: 'imported' } });
    const { id } = await createComparison(prisma, { projectId: project.id, promptId: prompt.id, requiredRankings: raters, answers: [0, 1, 2].map((a) => ({ text: `answer ${c}.${a}` })) });
    const answers = await prisma.answer.findMany({ where: { comparisonId: id }, orderBy: { position: 'asc' } });
    for (const [r, rater] of people.entries()) {
      // some ties: every third submission puts the last two answers level
      const ids = answers.map((a) => a.id);
      const order = (c + r) % 3 === 0 ? [[ids[0]], [ids[1], ids[2]]] : ids.map((a) => [a]);
      submissions.push({ rater, comparisonId: id, key: randomUUID(), body: { order, timeSpentMs: 1000 + c } });
    }
  }
  return { projectId: project.id, raters: people, submissions };
}

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
  retryAfter: string | null;
}

/** Sends one submission with its key; a network failure (the server died) is status 0. */
export async function submit(baseUrl: string, s: Submission): Promise<Outcome> {
  try {
    const res = await fetch(`${baseUrl}/v1/comparisons/${s.comparisonId}/rankings`, {
      method: 'POST',
      headers: { ...s.rater.auth, 'content-type': 'application/json', 'idempotency-key': s.key },
      body: JSON.stringify(s.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, replayed: res.headers.get('idempotent-replayed') === 'true', retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 0, body: null, replayed: false, retryAfter: null };
  }
}

/** Runs `fn` over `items`, `concurrency` at a time, keeping the order of the results. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** Ends every connection to the database but the caller's: what a failover does to the API's pool. */
export async function terminateBackends(admin: { query(sql: string): Promise<unknown> }): Promise<void> {
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
}
