'use client';

// A job followed live: its detail (GET /v1/jobs/:id) first, then, while it is queued or running,
// its Server-Sent Events through the same-origin /v1 rewrite.
//
// Why SSE and not polling: measured with `next start` and the API on one machine, events came
// through the rewrite unbuffered (Next's proxy passes chunks on as they come, and the API's
// `cache-control: no-transform` keeps compression off), 0.2–0.65 s after the worker wrote the row,
// the same as straight from the API (the API itself polls the database every 0.5 s); a stream
// with no new rows stayed open past Next's 30 s proxy timeout thanks to the API's 15 s keep-alive,
// and closing the page closed the API's stream. Polling the detail every 2 s would lag 1 s on
// average and re-send the whole metrics history on every poll.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Job, JobDetailResponse, JobLog, JobMetric } from '@jielong/shared';
import { api } from './api';
import { isLive } from './jobs';

/** how often events that arrived are drawn: a finished job's replay can send thousands at once */
const FLUSH_MS = 200;

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** Appends rows not seen yet (a reconnect may replay some); a resumed attempt drops the steps it redoes. */
function mergeMetrics(have: JobMetric[], incoming: JobMetric[]): JobMetric[] {
  const seen = new Set(have.map((m) => m.id));
  let out = have;
  for (const m of incoming) {
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    const resumedFrom = m.data.resumedFrom;
    out = typeof resumedFrom === 'number' ? [...out.filter((x) => x.step <= resumedFrom), m] : [...out, m];
  }
  return out;
}

function mergeLogs(have: JobLog[], incoming: JobLog[]): JobLog[] {
  const seen = new Set(have.map((l) => l.id));
  return [...have, ...incoming.filter((l) => !seen.has(l.id))];
}

export function useJobEvents(jobId: string) {
  const [job, setJob] = useState<Job | null>(null);
  const [metrics, setMetrics] = useState<JobMetric[]>([]);
  const [logs, setLogs] = useState<JobLog[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [attempt, setAttempt] = useState(0);
  const pending = useRef<{ metrics: JobMetric[]; logs: JobLog[]; job: Job | null }>({ metrics: [], logs: [], job: null });

  useEffect(() => {
    let source: EventSource | null = null;
    let stopped = false;
    let finished = false;
    const flush = () => {
      const p = pending.current;
      pending.current = { metrics: [], logs: [], job: null };
      if (p.metrics.length) setMetrics((have) => mergeMetrics(have, p.metrics));
      if (p.logs.length) setLogs((have) => mergeLogs(have, p.logs));
      if (p.job) setJob(p.job);
    };
    const timer = setInterval(flush, FLUSH_MS);

    (async () => {
      let detail: JobDetailResponse;
      try {
        detail = await api<JobDetailResponse>(`/v1/jobs/${jobId}`);
      } catch (err) {
        if (!stopped) {
          setError(err);
          setConnection('closed');
        }
        return;
      }
      if (stopped) return;
      setError(null);
      setJob(detail.job);
      setMetrics((have) => mergeMetrics(have, detail.metrics));
      setLogs((have) => mergeLogs(have, detail.logs));
      if (!isLive(detail.job)) {
        clearInterval(timer);
        setConnection('closed');
        return;
      }
      source = new EventSource(`/v1/jobs/${jobId}/events`);
      source.onopen = () => setConnection('live');
      source.addEventListener('status', (e) => {
        const next = (JSON.parse((e as MessageEvent<string>).data) as { job: Job }).job;
        pending.current.job = next;
        finished = !isLive(next);
      });
      source.addEventListener('metric', (e) => pending.current.metrics.push(JSON.parse((e as MessageEvent<string>).data) as JobMetric));
      source.addEventListener('log', (e) => pending.current.logs.push(JSON.parse((e as MessageEvent<string>).data) as JobLog));
      // The API ends the stream once the job has finished: EventSource would reconnect, so close it.
      source.onerror = () => {
        if (finished || source?.readyState === EventSource.CLOSED) {
          source?.close();
          clearInterval(timer);
          flush();
          setConnection('closed');
        } else {
          setConnection('reconnecting');
        }
      };
    })();

    return () => {
      stopped = true;
      source?.close();
      clearInterval(timer);
    };
  }, [jobId, attempt]);

  /** Follow the job again (after the stream was refused or the detail failed to load). */
  const reconnect = useCallback(() => {
    setConnection('connecting');
    setAttempt((a) => a + 1);
  }, []);

  return { job, setJob, metrics, logs, error, connection, reconnect };
}
