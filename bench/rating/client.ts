// What a simulated rater does, over HTTP against the real API (one keep-alive connection per
// rater, as a browser tab holds one) or through the pg floor (floor.ts).
import http from 'node:http';

export interface HandOut {
  task: { comparisonId: string; answers: { id: string }[] } | null;
  remaining: number;
}

export interface RankingBody {
  order?: string[][];
  skipped: boolean;
  skipReason?: string;
  timeSpentMs: number;
}

export interface Submitted {
  status: number;
  rankingId?: string;
  /** the response was the stored one of an earlier request with the same Idempotency-Key */
  replayed?: boolean;
  /** the error code of a 4xx/5xx */
  code?: string;
}

export interface RaterClient {
  handOut(token: string): Promise<HandOut>;
  submit(token: string, comparisonId: string, body: RankingBody, idempotencyKey: string): Promise<Submitted>;
}

/** The API at `base` (http://127.0.0.1:port). */
export function httpClient(base: string, projectId: string, raters: number): RaterClient & { close(): void } {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: raters });

  function post(path: string, token: string, body: unknown, headers: Record<string, string> = {}) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; json: unknown }>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path,
          headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : null });
            } catch (err) {
              reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)} (${err})`));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  return {
    async handOut(token) {
      const res = await post(`/v1/projects/${projectId}/rating-task`, token, undefined);
      if (res.status !== 200) throw new Error(`rating-task: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json as HandOut;
    },
    async submit(token, comparisonId, body, key) {
      const res = await post(`/v1/comparisons/${comparisonId}/rankings`, token, body, { 'idempotency-key': key });
      if (res.status !== 201) return { status: res.status, code: (res.json as { error?: { code?: string } } | null)?.error?.code };
      return { status: 201, rankingId: (res.json as { ranking: { id: string } }).ranking.id, replayed: res.headers['idempotent-replayed'] === 'true' };
    },
    close: () => agent.destroy(),
  };
}
